"""The JavaScript shared by the canvas components (loss chart, grid view)."""

# Streamlit re-calls a component's default export whenever `data` changes (same parentElement) and
# runs the returned cleanup only on unmount. So each component's JS defines `mount(parentElement)`,
# returning {canvas, update(data), cleanup()}, and ends with this: one mount per element, reused
# until Streamlit replaces the element's DOM.
MOUNT_ONCE_JS = r"""
const MOUNTS = new WeakMap();

export default function (component) {
  const { data, parentElement } = component;
  let entry = MOUNTS.get(parentElement);
  if (entry && !parentElement.contains(entry.canvas)) {
    entry.cleanup();
    entry = undefined;
  }
  if (!entry) {
    entry = mount(parentElement);
    MOUNTS.set(parentElement, entry);
  }
  entry.update(data);
  return entry.cleanup;
}
"""
