"""resnet_fer.model: torchvision's ResNet-18 exactly, plus the small stem, width and dropout."""
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from resnet_fer.model import BasicBlock, ResNet, resnet18  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_default_has_exactly_torchvision_resnet18_parameters():
    ours, theirs = resnet18(), torchvision.models.resnet18(num_classes=7)
    assert _n_params(ours) == _n_params(theirs) == 11_180_103
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: v.shape for k, v in theirs.state_dict().items()}


def test_torchvision_weights_load_and_give_the_same_outputs():
    torch.manual_seed(0)
    theirs = torchvision.models.resnet18(num_classes=7).eval()
    ours = resnet18().eval()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=0)


def test_eight_basic_blocks_with_projection_shortcuts_where_the_shape_changes():
    model = resnet18()
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 8
    projections = [b.downsample is not None for b in blocks]
    assert projections == [False, False, True, False, True, False, True, False]


@pytest.mark.parametrize("stem, size", [("small", 32), ("small", 17), ("imagenet", 64)])
def test_forward_shape(stem, size):
    model = resnet18(width=8, stem=stem, dropout=0.5)
    assert model(torch.zeros(3, 3, size, size)).shape == (3, 7)


def test_small_stem_keeps_resolution_and_width_scales_channels():
    model = resnet18(width=8, stem="small")
    assert isinstance(model.maxpool, torch.nn.Identity) and model.conv1.stride == (1, 1)
    assert model.forward_features(torch.zeros(1, 3, 32, 32)).shape == (1, 64)
    assert model.fc.in_features == 64


def test_dropout_is_a_parameter_and_off_by_default():
    assert isinstance(resnet18().dropout, torch.nn.Identity)
    assert resnet18(dropout=0.3).dropout.p == 0.3


def test_zero_init_residual_makes_blocks_start_as_identity():
    model = resnet18(width=4, zero_init_residual=True).eval()
    block = model.layer1[0]
    x = torch.rand(1, 4, 8, 8)  # non-negative, so ReLU(x + 0) == x
    with torch.no_grad():
        torch.testing.assert_close(block(x.clone()), x)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="stem"):
        ResNet(stem="tiny")
    with pytest.raises(ValueError):
        ResNet(dropout=1.0)
