"""``resnet-fer export MODEL --onnx out.onnx``: a ResNet model file as an ONNX graph.

The graph takes ``images``, uint8 ``(batch, input_size, input_size, 3)`` RGB crops: the
images :meth:`resnet_fer.predictor.Predictor.prepare` gives (cut as the model's crop
settings say, at the size the training images were stored at, which may be larger than the
network's input). It returns ``probabilities`` ``(batch, n_classes)``: the antialiased
resize to the network's input size, the normalisation, the network and the test-time
augmentation of the recipe, as :meth:`resnet_fer.model_file.ResNetModel.predict_proba`
computes them (the same :func:`resnet_fer.augment.normalize`). A model trained on grey or
equalised images (``gray``, ``equalize`` in the crop settings) wants its inputs toned first,
as :func:`bpnet.data.image_dataset.tone` does; the graph does not. The class names, the
input size, the network's size and the crop settings are in the file's metadata
(``metadata_props``). Needs the ``[onnx]`` extra (onnx, onnxscript; onnxruntime to run it).
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bpnet.outdir import atomic_write

from .augment import normalize
from .engine import tta_views

__all__ = ["OnnxGraph", "export_onnx"]


class OnnxGraph(nn.Module):
    """uint8 NHWC images in, class probabilities out: what the ONNX file computes.

    Parameters
    ----------
    model : ResNetModel
    """

    def __init__(self, model) -> None:
        super().__init__()
        self.net, self.config = model.model.eval(), model.config

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        x = normalize(images, cfg.size, cfg.mean, cfg.std, torch.float32, channels_last=False)
        return torch.stack([F.softmax(self.net(v), 1) for v in tta_views(x, cfg.tta)]).mean(0)


def export_onnx(model_path: str | Path, out: str | Path, *, force: bool = False,
                opset: int = 18) -> Path:
    """Write the ResNet model file ``model_path`` as an ONNX graph at ``out``.

    Raises
    ------
    ImportError
        Without the ``[onnx]`` extra.
    ValueError
        Not a ResNet model file, or ``out`` exists and ``force`` is False.
    """
    from .predictor import load_model

    out = Path(out)
    if out.suffix != ".onnx":
        raise ValueError(f"--onnx {out}: give a .onnx file name")
    if out.exists() and not force:
        raise ValueError(f"--onnx {out} exists; use --force to overwrite it")
    if not out.parent.is_dir():
        raise ValueError(f"--onnx {out}: folder {out.parent} not found")
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError as exc:
        raise ImportError(f"ONNX export needs the onnx extra: pip install 'bpnet-fer[onnx]' "
                          f"({exc})") from None
    predictor = load_model(model_path)
    if predictor.kind != "resnet":
        raise ValueError(f"{model_path} is a BP model (NumPy already); export takes a ResNet "
                         "model file (.safetensors or .pt)")
    model = predictor.model
    graph = OnnxGraph(model).eval()
    size = model.input_size  # what Predictor.prepare gives; the graph resizes to config.size
    example = torch.zeros(2, size, size, 3, dtype=torch.uint8)
    batch = torch.export.Dim("batch", min=1)
    with warnings_quiet():
        program = torch.onnx.export(graph, (example,), input_names=["images"],
                                    output_names=["probabilities"], opset_version=opset,
                                    dynamo=True, dynamic_shapes=({0: batch},))
    proto = program.model_proto
    for key, value in (("class_names", json.dumps(list(model.class_names))),
                       ("input_size", str(size)),
                       ("network_size", str(model.config.size)),
                       ("crop", json.dumps({**model.data.__dict__})),
                       ("source", Path(model_path).name)):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return atomic_write(out, lambda tmp: onnx.save(proto, tmp))


@contextlib.contextmanager
def warnings_quiet():
    """The exporter's progress chatter and deprecation notes, silenced (errors still raise)."""
    import io
    import warnings

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield
