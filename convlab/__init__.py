"""ConvLab's core: 2D cross-correlation made exact, fast and teachable. Never imports streamlit."""

from convlab.export import kernel_from_json, kernel_to_json, pytorch_snippet, to_csv, to_png
from convlab.figures import loss_curve_figure, loss_landscape_figure
from convlab.images import (
    IMAGES,
    ImagePreset,
    image_preset,
    load_image,
    load_image_rgb,
    resize_grid,
    to_rgb,
    transform,
)
from convlab.kernels import KERNELS, KernelPreset, kernel_preset
from convlab.layers import Conv2D
from convlab.ops import CellExplanation, conv2d, corr2d, corr2d_loop, explain_cell, output_shape
from convlab.training import (
    KernelTrainer,
    Landscape,
    TrainConfig,
    TrainingDiverged,
    TrainStep,
    least_squares_kernel,
    loss_landscape,
    make_target,
    train_kernel,
)

__all__ = [
    "IMAGES",
    "KERNELS",
    "CellExplanation",
    "Conv2D",
    "ImagePreset",
    "KernelPreset",
    "KernelTrainer",
    "Landscape",
    "TrainConfig",
    "TrainStep",
    "TrainingDiverged",
    "conv2d",
    "corr2d",
    "corr2d_loop",
    "explain_cell",
    "image_preset",
    "kernel_from_json",
    "kernel_preset",
    "kernel_to_json",
    "least_squares_kernel",
    "load_image",
    "load_image_rgb",
    "loss_curve_figure",
    "loss_landscape",
    "loss_landscape_figure",
    "make_target",
    "output_shape",
    "pytorch_snippet",
    "resize_grid",
    "to_csv",
    "to_png",
    "to_rgb",
    "train_kernel",
    "transform",
]
