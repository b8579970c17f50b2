"""The VGG of DESIGN.md: names, shapes, parameter count, rebuilding from a state dict."""
import pytest
import torch

from prunekit.measure import count_macs
from prunekit.model import VGG, conv_channels_of, scaled_channels, vgg_from_state_dict


def test_full_model_names_and_parameter_count():
    """The full model has the lab's module names and 9,228,362 parameters."""
    model = VGG()
    names = dict(model.named_modules())
    for i in range(8):
        assert isinstance(names[f"backbone.conv{i}"], torch.nn.Conv2d)
        assert isinstance(names[f"backbone.bn{i}"], torch.nn.BatchNorm2d)
        assert names[f"backbone.conv{i}"].bias is None
    assert [f"backbone.pool{i}" in names for i in range(4)] == [True] * 4
    assert names["classifier"].in_features == 512 and names["classifier"].out_features == 10
    assert sum(p.numel() for p in model.parameters()) == 9_228_362


def test_output_shape_and_full_macs():
    """A batch of 32x32 images gives 10 logits each; the full model costs 605,754,368 MACs."""
    model = VGG(width=0.125)
    assert model(torch.rand(4, 3, 32, 32)).shape == (4, 10)
    assert count_macs(VGG()) == 605_754_368


def test_width_multiplier_scales_every_conv():
    """Width 0.125 divides every conv's channels by 8 and feeds the classifier the last count."""
    model = VGG(width=0.125)
    assert conv_channels_of(model) == [8, 16, 32, 32, 64, 64, 64, 64]
    assert model.classifier.in_features == 64
    with pytest.raises(ValueError, match="width"):
        scaled_channels(0)


def test_rebuild_channel_pruned_model_from_state_dict():
    """A model with arbitrary (pruned) channel counts is rebuilt from its state dict alone,
    strictly, and computes the same outputs."""
    torch.manual_seed(0)
    channels = [45, 90, 179, 179, 358, 358, 358, 512]
    original = VGG(conv_channels=channels).eval()
    rebuilt = vgg_from_state_dict(original.state_dict()).eval()
    assert conv_channels_of(rebuilt) == channels
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(rebuilt(x), original(x))


def test_rebuild_keeps_conv_bias():
    """A state dict with conv biases rebuilds a model with conv biases."""
    rebuilt = vgg_from_state_dict(VGG(width=0.125, conv_bias=True).state_dict())
    assert rebuilt.backbone.conv0.bias is not None


def test_rebuild_rejects_inconsistent_state_dict():
    """A state dict whose next conv still expects the old channel count gives a clear error."""
    state = VGG(width=0.125).state_dict()
    state["backbone.conv0.weight"] = state["backbone.conv0.weight"][:5]
    with pytest.raises(ValueError, match="consistent VGG"):
        vgg_from_state_dict(state)
    with pytest.raises(ValueError, match="missing"):
        vgg_from_state_dict({"classifier.weight": torch.zeros(10, 8)})


def test_wrong_number_of_channels_is_an_error():
    """Asking for a VGG with other than 8 conv channel counts names the expected number."""
    with pytest.raises(ValueError, match="8 conv"):
        VGG(conv_channels=[8, 16])
