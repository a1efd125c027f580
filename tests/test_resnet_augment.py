"""resnet_fer.augment: one batched affine resampling + jitter + normalisation, and mixing."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from resnet_fer import augment as A  # noqa: E402
from resnet_fer.augment import (  # noqa: E402
    AugmentConfig,
    AugmentParams,
    augment,
    augment_batch,
    identity_params,
    mix,
    normalize,
    sample_params,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _images(n=4, h=16, w=16, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, h, w, 3), dtype=torch.uint8, generator=g).to(device)


def _with(params, **cols):
    table = params.table.clone()
    for name, value in cols.items():
        table[:, A._C[name]] = value
    return AugmentParams(table)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_output_shape_dtype_and_channels_last(device, dtype):
    x = _images(5, 20, 24, device=device)
    out = augment(x, sample_params(5, AugmentConfig(), 0), size=12, dtype=dtype)
    assert out.shape == (5, 3, 12, 12) and out.dtype == dtype and out.device.type == device
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.isfinite(out.float()).all()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("h, w", [(16, 16), (20, 28)])
def test_identity_parameters_reproduce_plain_normalisation(device, h, w):
    x = _images(3, h, w, device=device)
    out = augment(x, identity_params(3))
    torch.testing.assert_close(out, normalize(x), atol=1e-4, rtol=0)
    # and plain normalisation is (x / 255 - mean) / std
    mean = torch.tensor(A.IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(A.IMAGENET_STD, device=device).view(1, 3, 1, 1)
    ref = (x.permute(0, 3, 1, 2).float() / 255 - mean) / std
    torch.testing.assert_close(normalize(x), ref, atol=1e-5, rtol=0)


def test_flip_parameter_flips_horizontally():
    x = _images(2, 12, 10)
    out = augment(x, _with(identity_params(2), flip=-1.0))
    torch.testing.assert_close(out, normalize(x).flip(-1), atol=1e-4, rtol=0)


def test_rotation_by_90_degrees_is_rot90_on_a_square_image():
    x = _images(2, 8, 8)
    out = augment(x, _with(identity_params(2), angle=np.pi / 2))
    torch.testing.assert_close(out, torch.rot90(normalize(x), 1, dims=(2, 3)), atol=1e-4, rtol=0)


def test_half_size_centre_crop_hits_pixel_centres_exactly():
    x = _images(2, 16, 16)
    out = augment(x, _with(identity_params(2), crop_w=0.5, crop_h=0.5), size=8)
    torch.testing.assert_close(out, normalize(x[:, 4:12, 4:12]), atol=1e-4, rtol=0)


def test_crop_centre_moves_the_window():
    x = _images(1, 16, 16)
    # centre at +0.5 in normalised units = 4 px right of the middle: columns 8..15
    out = augment(x, _with(identity_params(1), crop_w=0.5, crop_h=0.5, cx=0.5), size=8)
    torch.testing.assert_close(out, normalize(x[:, 4:12, 8:16]), atol=1e-4, rtol=0)


def test_brightness_scales_pixels():
    x = torch.full((1, 4, 4, 3), 100, dtype=torch.uint8)
    out = augment(x, _with(identity_params(1), brightness=1.5))
    torch.testing.assert_close(out, normalize(torch.full_like(x, 150)), atol=1e-4, rtol=0)


def test_saturation_zero_gives_grey():
    x = _images(2, 6, 6)
    out = augment(x, _with(identity_params(2), saturation=0.0))
    std, mean = (torch.tensor(v).view(1, 3, 1, 1) for v in (A.IMAGENET_STD, A.IMAGENET_MEAN))
    unnorm = out * std + mean
    torch.testing.assert_close(unnorm[:, 0], unnorm[:, 1], atol=1e-5, rtol=0)
    torch.testing.assert_close(unnorm[:, 1], unnorm[:, 2], atol=1e-5, rtol=0)


def test_per_sample_randomness_differs_across_the_batch():
    x = _images(1, 16, 16).expand(8, -1, -1, -1)  # one image, eight times
    params = sample_params(8, AugmentConfig(), 0)
    assert len({tuple(row) for row in params.table[:, :9].tolist()}) == 8
    out = augment(x, params).flatten(1)
    assert all(not torch.allclose(out[i], out[j]) for i in range(8) for j in range(i))


def test_deterministic_for_a_seed_and_different_for_another():
    x = _images(6)
    a = augment(x, sample_params(6, AugmentConfig(), (3, 1, 2)))
    b = augment(x, sample_params(6, AugmentConfig(), (3, 1, 2)))
    c = augment(x, sample_params(6, AugmentConfig(), (3, 1, 3)))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_parameters_respect_the_configured_ranges():
    cfg = AugmentConfig(scale=(0.5, 1.0), degrees=5, flip=0.5, brightness=0.2, mixup=0, cutmix=0)
    p = sample_params(2000, cfg, 1)
    area = p.crop_w * p.crop_h
    assert (area <= 1 + 1e-6).all() and (area >= 0.5 * 0.99).all()
    assert (p.cx.abs() <= 1 - p.crop_w + 1e-6).all() and (p.cy.abs() <= 1 - p.crop_h + 1e-6).all()
    assert p.angle.abs().max() <= np.deg2rad(5) + 1e-6
    assert 0.45 < (p.flip < 0).float().mean() < 0.55
    assert ((p.brightness >= 0.8) & (p.brightness <= 1.2)).all()
    assert (p.mix_kind == 0).all()


def test_grayscale_input_is_expanded_to_three_channels():
    x = _images(2)[..., 0]
    assert augment(x, identity_params(2)).shape == (2, 3, 16, 16)


def test_no_mix_keeps_images_and_hard_labels():
    x = normalize(_images(4))
    y = torch.tensor([0, 1, 2, 3])
    mixed, target = mix(x, y, identity_params(4), 7)
    assert torch.equal(mixed, x)
    assert torch.equal(target, torch.nn.functional.one_hot(y, 7).float())


def test_mixup_blends_with_the_reversed_batch():
    x = normalize(_images(4))
    y = torch.tensor([0, 1, 2, 3])
    p = _with(identity_params(4), mix_kind=A.MIXUP, mix_lam=0.75)
    mixed, target = mix(x, y, p, 7)
    torch.testing.assert_close(mixed, 0.75 * x + 0.25 * x.flip(0))
    torch.testing.assert_close(target[0, [0, 3]], torch.tensor([0.75, 0.25]))


def test_cutmix_pastes_a_box_and_weights_labels_by_area():
    x = normalize(_images(2, 8, 8))
    y = torch.tensor([0, 1])
    p = _with(identity_params(2), mix_kind=A.CUTMIX, box_x0=0.0, box_y0=0.0, box_x1=0.5, box_y1=0.5)
    mixed, target = mix(x, y, p, 7)
    torch.testing.assert_close(mixed[0, :, :4, :4], x[1, :, :4, :4])
    torch.testing.assert_close(mixed[0, :, 4:, :], x[0, :, 4:, :])
    torch.testing.assert_close(target[0, :2], torch.tensor([0.75, 0.25]))


def test_augment_batch_targets_are_distributions():
    params = sample_params(16, AugmentConfig(mix_prob=1.0), 0)
    x, target = augment_batch(_images(16), torch.arange(16) % 7, params, 7)
    torch.testing.assert_close(target.sum(1), torch.ones(16))
    assert x.shape == (16, 3, 16, 16) and (target.max(1).values < 1).any()


def test_row_count_mismatch_raises():
    with pytest.raises(ValueError, match="parameter rows"):
        augment(_images(3), identity_params(2))
