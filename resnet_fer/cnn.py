"""The other image models of the comparison: a shallow CNN for a few hundred faces, GoogLeNet.

The paper's future work proposes "different models like CNN and GoogLeNet". With 540
training images a ResNet-18 has ~20 000 parameters per image; :class:`SmallCNN` has a few
conv blocks (VGG-style: two 3x3 convolutions, BatchNorm, ReLU, max-pool), global average
pooling and a dropout head, so it fits 48-64 px grey faces with far fewer weights.
:func:`googlenet` is torchvision's Inception v1, trained from scratch (no auxiliary heads).
:func:`build_network` picks the model that ``TrainConfig.arch`` names.
"""
from __future__ import annotations

from torch import Tensor, nn

from .config import TrainConfig
from .model import resnet18

__all__ = ["SmallCNN", "build_network", "googlenet"]


class SmallCNN(nn.Module):
    """``blocks`` conv blocks (each: [3x3 conv, BN, ReLU] x 2, 2x2 max-pool), then GAP.

    Parameters
    ----------
    num_classes : int
    width : int
        Channels of the first block; each later block doubles them, up to ``8 * width``.
    blocks : int
        Conv blocks (3-4 for 48-64 px faces: 64 px / 2**4 = 4 px maps at the end).
    dropout : float
        Dropout before the linear classifier.
    in_channels : int

    Examples
    --------
    >>> import torch
    >>> SmallCNN(width=8)(torch.zeros(2, 3, 48, 48)).shape
    torch.Size([2, 7])
    """

    def __init__(self, num_classes: int = 7, width: int = 32, blocks: int = 4,
                 dropout: float = 0.5, in_channels: int = 3) -> None:
        super().__init__()
        if not 1 <= blocks <= 6 or width < 1 or not 0 <= dropout < 1:
            raise ValueError(f"need 1 <= blocks <= 6, width >= 1 and 0 <= dropout < 1; got "
                             f"{blocks}, {width}, {dropout}")
        layers: list[nn.Module] = []
        cin = in_channels
        for i in range(blocks):
            cout = width * min(2 ** i, 8)
            for j in range(2):
                layers += [nn.Conv2d(cin if j == 0 else cout, cout, 3, padding=1, bias=False),
                           nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            layers.append(nn.MaxPool2d(2))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        """Class logits ``(batch, num_classes)`` of images ``(batch, C, H, W)``."""
        return self.fc(self.dropout(self.avgpool(self.features(x)).flatten(1)))


def googlenet(num_classes: int = 7, dropout: float = 0.2) -> nn.Module:
    """torchvision's GoogLeNet with random weights, no auxiliary classifiers.

    Its five stride-2 stages need inputs of at least 32 px; 96-224 px suit it.
    """
    from torchvision.models import googlenet as tv_googlenet  # only this model needs torchvision

    return tv_googlenet(weights=None, aux_logits=False, init_weights=True,
                        num_classes=num_classes, dropout=dropout)


def build_network(config: TrainConfig, n_classes: int = 7) -> nn.Module:
    """The model ``config.arch`` names, with ``config``'s width, stem and dropout."""
    if config.arch == "cnn-small":
        return SmallCNN(n_classes, width=config.width, blocks=config.blocks,
                        dropout=config.dropout)
    if config.arch == "googlenet":
        return googlenet(n_classes, dropout=config.dropout)
    return resnet18(num_classes=n_classes, width=config.width, stem=config.stem,
                    dropout=config.dropout, zero_init_residual=config.zero_init_residual,
                    drop_path=config.drop_path)
