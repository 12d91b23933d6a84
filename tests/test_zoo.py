import numpy as np
import pytest
import torch

from nnenc import Zoo, load_zoo
from nnenc.zoo import split_by_group


def test_split_never_puts_one_run_in_two_splits(small_cnn_zoo_dir):
    zoo = load_zoo(small_cnn_zoo_dir)
    splits = zoo.split((0.5, 0.25, 0.25), seed=3)
    runs = [set(part.metrics["run_id"]) for part in splits]
    assert sum(len(part) for part in splits) == len(zoo)
    assert not (runs[0] & runs[1] or runs[0] & runs[2] or runs[1] & runs[2])
    assert all(len(part) % 9 == 0 for part in splits)  # whole runs of 9 checkpoints


def test_same_seed_same_split_and_other_seed_another():
    groups = np.repeat(np.arange(40), 3)
    first = split_by_group(groups, seed=7)
    assert all(
        np.array_equal(a, b) for a, b in zip(first, split_by_group(groups, seed=7), strict=True)
    )
    other = split_by_group(groups, seed=8)
    assert not np.array_equal(first[0], other[0])
    assert [len(p) // 3 for p in first] == [32, 4, 4]


def test_split_does_not_depend_on_row_order():
    groups = np.repeat(np.array([f"run{i}" for i in range(30)]), 2)
    shuffled = np.random.default_rng(0).permutation(len(groups))
    a = split_by_group(groups, seed=1)
    b = split_by_group(groups[shuffled], seed=1)
    assert set(groups[a[2]]) == set(groups[shuffled][b[2]])


def test_bad_split_fractions_are_refused():
    with pytest.raises(ValueError, match="sum to 1"):
        split_by_group(np.arange(10), (0.5, 0.2, 0.2))


def test_filter_by_values_and_mask(small_cnn_zoo_dir):
    zoo = load_zoo(small_cnn_zoo_dir)
    final = zoo.filter(epoch=86)
    assert len(final) == 6 and (final.metrics["epoch"] == 86).all()
    early = zoo.filter(epoch=[0, 1])
    assert len(early) == 12
    good = zoo.filter(zoo.metrics["test_accuracy"].to_numpy() > 0.5, epoch=86)
    assert (good.metrics["test_accuracy"] > 0.5).all()
    with pytest.raises(KeyError, match="no column 'colour'"):
        zoo.filter(colour="red")


def test_take_returns_the_same_networks(small_cnn_zoo_dir):
    zoo = load_zoo(small_cnn_zoo_dir)
    part = zoo.take([7, 2])
    assert torch.equal(part[0].to_flat(), zoo[7].to_flat())
    assert part.metrics.loc[1, "model_id"] == zoo.metrics.loc[2, "model_id"]


def test_concat_of_formats_keeps_every_network(
    small_cnn_zoo_dir, model_zoos_dir, checkpoint_folder_dir
):
    zoos = [load_zoo(p) for p in (small_cnn_zoo_dir, model_zoos_dir, checkpoint_folder_dir)]
    joined = Zoo.concat(zoos)
    assert len(joined) == sum(len(z) for z in zoos)
    assert joined.metrics["model_id"].is_unique
    offset = len(zoos[0]) + len(zoos[1])
    for i in range(len(zoos[2])):
        assert torch.equal(joined[offset + i].to_flat(), zoos[2][i].to_flat())
    small = joined.filter(architecture="cnn-small")
    assert np.array_equal(small.flat()[-4:], zoos[2].flat())


def test_flat_of_several_architectures_is_refused(small_cnn_zoo_dir, model_zoos_dir):
    joined = Zoo.concat([load_zoo(small_cnn_zoo_dir), load_zoo(model_zoos_dir)])
    with pytest.raises(ValueError, match="one architecture"):
        joined.flat()


def test_the_weight_scan_of_several_architectures_is_one_bar_counting_networks(
    small_cnn_zoo_dir, model_zoos_dir, monkeypatch
):
    """``zoo info`` on a 16-architecture zoo printed 16 bars of one block each: the scan now
    advances one bar, over every network of the zoo, whatever its architectures."""
    import nnenc.zoo.zoo as zoo_module

    bars = []

    class Recording(zoo_module.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.counted = 0
            bars.append(self)

        def update(self, n=1):
            self.counted += n
            return super().update(n)

    monkeypatch.setattr(zoo_module, "tqdm", Recording)
    joined = Zoo.concat([load_zoo(small_cnn_zoo_dir), load_zoo(model_zoos_dir)])
    assert joined.metrics["architecture"].nunique() == 2 and "finite" not in joined.metrics
    finite = joined.finite_mask(progress=True)
    assert [(bar.total, bar.counted) for bar in bars] == [(len(joined), len(joined))]
    assert finite.sum() == len(joined) - 1  # the Small CNN Zoo's one diverged row


def test_weights_are_memory_mapped_not_read(small_cnn_zoo_dir):
    zoo = load_zoo(small_cnn_zoo_dir)
    (segment,) = zoo.stores["cnn-small"].segments
    assert isinstance(segment.array, np.memmap)


def test_index_out_of_range_names_the_size(small_cnn_zoo_dir):
    zoo = load_zoo(small_cnn_zoo_dir)
    with pytest.raises(IndexError, match="has 54 networks"):
        zoo.params(54)


def test_two_zoos_with_one_architecture_name_build_their_own_modules(tmp_path):
    """Two zoos call different architectures "twin": each zoo's networks build its own spec
    (written to and read back from the native format), the registry is left alone, and the
    two zoos cannot be joined under one name."""
    from nnenc.architectures import Architecture, architecture_names
    from nnenc.params import NetworkParams
    from nnenc.zoo.assemble import zoo_from_networks

    narrow = Architecture("twin", "cnn", conv_channels=(4,), input_size=8)
    deep = Architecture("twin", "cnn", conv_channels=(6, 6), hidden=(5,), input_size=8)
    paths = {}
    for spec in (narrow, deep):
        torch.manual_seed(0)
        networks = [NetworkParams.from_module(spec.build()) for _ in range(2)]
        rows = [{"model_id": f"m{i}", "run_id": f"r{i}", "epoch": 1, "test_accuracy": 0.5}
                for i in range(2)]  # fmt: skip
        zoo = zoo_from_networks(rows, networks, f"zoo-{len(spec.conv_channels)}", "test")
        paths[spec] = zoo.save(tmp_path / zoo.name)
    images = torch.randn(3, 1, 8, 8)
    for spec, path in paths.items():
        zoo = load_zoo(path)
        network = zoo[0]
        assert network.architecture == "twin" and network.spec == spec
        module = network.to_module()
        convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
        assert [c.out_channels for c in convs] == list(spec.conv_channels)
        assert module(images).shape == (3, 10)
    assert "twin" not in architecture_names()
    with pytest.raises(ValueError, match="names another architecture 'twin'"):
        Zoo.concat([load_zoo(p) for p in paths.values()])
