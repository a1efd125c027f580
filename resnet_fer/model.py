"""The paper's ResNet: a stem, 8 BasicBlocks (2 per stage), global average pooling, 7 outputs.

Written with torchvision's names and structure (``conv3x3``, ``conv1x1``, ``BasicBlock``,
``ResNet._make_layer``) so that anyone who knows ``torchvision.models.resnet`` is at home;
with the default arguments the state-dict keys and shapes are exactly those of
``torchvision.models.resnet18(num_classes=7)``, so its weights load unchanged. Three things
are parameters instead of copies of the class:

* ``stem``: ``"imagenet"`` (7x7 stride-2 conv, BN, ReLU, 3x3 stride-2 max-pool: the input is
  downsampled 4x before the first block) or ``"small"`` (3x3 stride-1 conv, BN, ReLU, no
  pool: for 32-112 px inputs, where a 4x early downsampling throws away most of the face);
* ``width``: channels of the first stage; the stages have ``width * (1, 2, 4, 8)``
  (64-128-256-512 by default);
* ``dropout``: probability of dropping pooled features before the classifier, the paper's
  proposed fix for over-fitting (0 disables it; the module is then an ``nn.Identity``);
* ``drop_path``: stochastic depth (Huang et al., 2016): in training each residual branch
  is skipped for a random subset of the samples, the deepest most often. It adds no
  parameters, so the state dict is unchanged.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

__all__ = ["BasicBlock", "ResNet", "conv1x1", "conv3x3", "drop_path", "resnet18", "STEMS"]

STEMS = ("imagenet", "small")


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1 and no bias (a BatchNorm follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution, the projection shortcut where the shape changes."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def drop_path(x: Tensor, p: float, training: bool) -> Tensor:
    """Zero each sample's ``x`` with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Applied to a residual branch, a zeroed sample passes through the block as the identity;
    the scaling keeps the branch's expected value, so evaluation uses it unchanged.
    """
    if p == 0.0 or not training:
        return x
    keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1.0 - p)
    return x * keep.div_(1.0 - p)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with BatchNorm and a residual connection (torchvision's block).

    Parameters
    ----------
    inplanes, planes : int
        Input and output channels.
    stride : int
        Stride of the first convolution (2 halves the resolution).
    downsample : nn.Module, optional
        Projection applied to the shortcut when the shape changes.
    drop_path : float
        Stochastic-depth probability of this block's residual branch (:func:`drop_path`).
    """

    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, drop_path: float = 0.0) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride
        self.drop_path = drop_path

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = drop_path(self.bn2(self.conv2(out)), self.drop_path, self.training)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    """A ResNet of BasicBlocks with a configurable stem, width and dropout head.

    Parameters
    ----------
    layers : sequence of 4 int
        Blocks per stage; ``(2, 2, 2, 2)`` is the paper's 8 blocks (ResNet-18).
    num_classes : int
        Outputs (7 expressions).
    width : int
        Channels of stage 1; later stages double it.
    stem : {"imagenet", "small"}
        See the module docstring.
    dropout : float
        Dropout probability before the final linear layer.
    zero_init_residual : bool
        Start every residual branch at zero (its last BN scale = 0), so each block is
        the identity at initialisation: steadier early training (Goyal et al., 2017).
    drop_path : float
        Stochastic depth of the last block; block ``i`` of ``N`` gets ``drop_path * i / (N - 1)``
        (the linear rule of Huang et al., 2016; the first block is never dropped).
    in_channels : int
        Image channels.

    Examples
    --------
    >>> model = ResNet()                      # the paper's net, at 224 px
    >>> model(torch.zeros(2, 3, 224, 224)).shape
    torch.Size([2, 7])
    """

    def __init__(self, layers: Sequence[int] = (2, 2, 2, 2), num_classes: int = 7, width: int = 64,
                 stem: str = "imagenet", dropout: float = 0.0, zero_init_residual: bool = False,
                 in_channels: int = 3, drop_path: float = 0.0) -> None:
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
        if len(layers) != 4 or width < 1 or not 0.0 <= dropout < 1.0 or not 0.0 <= drop_path < 1.0:
            raise ValueError(f"need 4 stages, width >= 1, 0 <= dropout < 1 and 0 <= drop_path < 1; "
                             f"got {layers}, {width}, {dropout}, {drop_path}")
        n_blocks = sum(layers)
        self._drop_rates = iter([drop_path * i / max(1, n_blocks - 1) for i in range(n_blocks)])
        self.inplanes = width
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.conv1 = nn.Conv2d(in_channels, width, kernel_size=3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(BasicBlock, width, layers[0])
        self.layer2 = self._make_layer(BasicBlock, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(BasicBlock, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(BasicBlock, width * 8, layers[3], stride=2)
        del self._drop_rates
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(width * 8 * BasicBlock.expansion, num_classes)

        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block: type[BasicBlock], planes: int, blocks: int,
                    stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, drop_path=next(self._drop_rates))]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, drop_path=next(self._drop_rates))
                   for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward_features(self, x: Tensor) -> Tensor:
        """Pooled features before dropout and the classifier, shape (batch, 8 * width)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits, shape (batch, num_classes), for images ``x`` (batch, C, H, W)."""
        return self.fc(self.dropout(self.forward_features(x)))


def resnet18(num_classes: int = 7, width: int = 64, stem: str = "imagenet", dropout: float = 0.0,
             zero_init_residual: bool = False, drop_path: float = 0.0) -> ResNet:
    """The paper's ResNet with 8 BasicBlocks (ResNet-18 when ``width=64``).

    Parameters
    ----------
    num_classes, width, stem, dropout, zero_init_residual, drop_path
        See :class:`ResNet`.

    Returns
    -------
    ResNet
        With the defaults, exactly the parameters (names and shapes) of
        ``torchvision.models.resnet18(num_classes=7)``.
    """
    return ResNet((2, 2, 2, 2), num_classes=num_classes, width=width, stem=stem, dropout=dropout,
                  zero_init_residual=zero_init_residual, drop_path=drop_path)
