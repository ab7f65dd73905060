"""How a new index is spread over a cluster: the settings a layout gives, and read back."""

from __future__ import annotations

import pytest

from esrerank import ConfigError, Shards


def test_the_default_leaves_primaries_to_the_cluster_and_replicas_to_its_size():
    assert Shards().settings() == {"auto_expand_replicas": "0-1"}


def test_a_chosen_layout_sets_both():
    assert Shards(3, 1).settings() == {"number_of_shards": 3, "number_of_replicas": 1}
    assert Shards(2).settings() == {"number_of_shards": 2, "auto_expand_replicas": "0-1"}


@pytest.mark.parametrize("layout", [Shards(), Shards(3, 1), Shards(1, 0), Shards(4)])
def test_a_layout_reads_back_from_the_settings_the_engines_return(layout):
    settings = {"number_of_shards": "1", **{k: str(v) for k, v in layout.settings().items()}}
    assert Shards.of(settings) == Shards(layout.primaries or 1, layout.replicas)


@pytest.mark.parametrize(("primaries", "replicas"), [(0, None), (1, -1), (True, None), (2, 1.5)])
def test_a_layout_that_cannot_be_is_refused(primaries, replicas):
    with pytest.raises(ConfigError, match="whole number"):
        Shards(primaries, replicas)
