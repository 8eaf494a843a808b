"""Conv2D: the lesson's layer, checked against the lesson's own loop class and hand-computed numbers."""

import itertools

import pytest
import torch
from torch import nn

from convlab.layers import Conv2D


class LessonConv2d(nn.Module):
    """The lesson's class, copied as written (only the name changed): the reference."""

    def __init__(self, kernel_size=(3, 3)):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def corr2d(self, X, K):
        """Compute 2D cross-correlation"""

        h, w = K.shape
        Y = torch.zeros((X.shape[0]-h+1, X.shape[1]-w+1))

        for i in range(Y.shape[0]):
            for j in range(Y.shape[1]):
                Y[i, j] = (X[i:i+h, j:j+w] * K).sum()
        return Y

    def forward(self, X):
        """Compute 2D Convolution."""
        return self.corr2d(X, self.weight) + self.bias


def _stripes() -> torch.Tensor:
    X = torch.ones((6, 8))
    X[:, 2:6] = 0
    return X


COUNTING = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])


def test_hand_computed_example():
    conv = Conv2D((2, 2))
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[0.0, 1.0], [2.0, 3.0]]))
    Y = conv(COUNTING)
    assert Y.tolist() == [[19.0, 25.0], [37.0, 43.0]]
    assert Y.grad_fn is not None


def test_parameters_shapes_and_initialisation():
    conv = Conv2D((1, 2))
    assert conv.weight.shape == (1, 2) and conv.bias.tolist() == [0.0]
    assert ((conv.weight >= 0) & (conv.weight < 1)).all()
    assert [name for name, _ in conv.named_parameters()] == ["weight", "bias"]
    assert Conv2D().weight.shape == (3, 3)
    assert Conv2D(4).weight.shape == (4, 4)
    assert "kernel_size=(1, 2)" in repr(conv)


def test_same_seed_same_starting_kernel():
    a = Conv2D((2, 3), generator=torch.Generator().manual_seed(7))
    b = Conv2D((2, 3), generator=torch.Generator().manual_seed(7))
    c = Conv2D((2, 3), generator=torch.Generator().manual_seed(8))
    assert torch.equal(a.weight, b.weight) and not torch.equal(a.weight, c.weight)


@pytest.mark.parametrize(
    ("X", "kernel_size"),
    [(COUNTING, (2, 2)), (_stripes(), (1, 2)), (_stripes(), (3, 3))],
    ids=["counting-2x2", "stripes-1x2", "stripes-3x3"],
)
def test_matches_the_lesson_class_forward_and_gradients(X, kernel_size):
    with torch.random.fork_rng():  # the lesson seeds the global generator; keep others' tests unaffected
        torch.manual_seed(0)
        lesson = LessonConv2d(kernel_size)
    ours = Conv2D(kernel_size, generator=torch.Generator().manual_seed(0))
    assert torch.equal(ours.weight, lesson.weight)
    with torch.no_grad():
        ours.bias.fill_(0.25)
        lesson.bias.fill_(0.25)

    Y_ours, Y_lesson = ours(X), lesson(X)
    assert torch.allclose(Y_ours, Y_lesson, rtol=1e-6, atol=1e-6)
    target = torch.arange(Y_ours.numel(), dtype=torch.float32).reshape(Y_ours.shape) / 10
    ((Y_ours - target) ** 2).sum().backward()
    ((Y_lesson - target) ** 2).sum().backward()
    assert torch.allclose(ours.weight.grad, lesson.weight.grad, rtol=1e-5, atol=1e-5)
    assert torch.allclose(ours.bias.grad, lesson.bias.grad, rtol=1e-5, atol=1e-5)
    assert ours.bias.grad.abs().item() > 0


def test_learns_the_lessons_edge_kernel():
    X = _stripes()
    Y = torch.zeros((6, 7))
    Y[:, 1], Y[:, 5] = 1, -1
    conv = Conv2D((1, 2), generator=torch.Generator().manual_seed(0))
    lr, losses = 3e-2, []
    for _ in range(30):
        Y_hat = conv(X)
        loss = ((Y - Y_hat) ** 2).sum()
        conv.zero_grad()
        loss.backward()
        # Only the weight, as in the lesson (its layer has no bias). A trainable bias diverges at
        # this lr: its summed-loss curvature is 2 * 42 outputs, and lr * 84 > 2.
        conv.weight.data[:] -= lr * conv.weight.grad
        losses.append(loss.item())
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))
    assert losses[-1] < losses[0] / 1000
    assert torch.allclose(conv.weight.data, torch.tensor([[1.0, -1.0]]), rtol=0, atol=0.01)


def test_float64_input_gives_a_float64_output():
    conv = Conv2D((2, 2))
    assert conv(COUNTING.double()).dtype == torch.float64


@pytest.mark.parametrize("bad", [0, (0, 2), (2,), (1, 2, 3), (1.5, 2), (True, 2), "3"])
def test_refuses_bad_kernel_sizes(bad):
    with pytest.raises(ValueError, match="kernel_size must be"):
        Conv2D(bad)


def test_refuses_a_kernel_larger_than_the_input():
    with pytest.raises(ValueError, match="kernel 3x3 is larger than the padded input 2x2"):
        Conv2D((3, 3))(torch.ones((2, 2)))


@pytest.mark.parametrize(
    ("kernel_size", "match"),
    [
        ((10**5, 10**5), r"kernel_size 100000x100000 is too large: a kernel holds at most 1,048,576 weights"),
        (2**40, r"kernel_size 1099511627776x1099511627776 is too large"),
        ((1025, 1024), "too large"),
    ],
)
def test_huge_kernels_are_refused_before_drawing_weights(kernel_size, match, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("weights were drawn")

    monkeypatch.setattr(torch, "rand", fail)
    with pytest.raises(ValueError, match=match):
        Conv2D(kernel_size)


def test_the_largest_kernel_still_builds():
    assert Conv2D((1024, 1024)).weight.shape == (1024, 1024)
