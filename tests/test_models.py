import random

import pytest
import torch

from dpr_course import models
from dpr_course.profiles import PROFILES


@pytest.fixture(scope="module")
def tokenizer():
    return models.load_tokenizer(PROFILES["tiny"])


def test_tiny_tokenizer_gives_distilbert_ids(tokenizer):
    # The ids distilbert-base-uncased gives, as printed in the original assignment.
    encoded = tokenizer(["Suicide Squad (film)", "Sacroiliac joint"], padding=True)
    assert list(encoded.keys()) == ["input_ids", "attention_mask"]
    assert encoded["input_ids"] == [[101, 5920, 4686, 1006, 2143, 1007, 102],
                                    [101, 17266, 26692, 6632, 2278, 4101, 102]]


def test_tiny_tokenizer_pairs_and_truncation(tokenizer):
    encoded = tokenizer(["Suicide Squad (film)"], ["the film, and scott eastwood announced that"],
                        truncation=True, max_length=15)
    ids = encoded["input_ids"][0]
    assert ids[:7] == [101, 5920, 4686, 1006, 2143, 1007, 102]
    assert len(ids) == 15 and ids[-1] == 102
    assert tokenizer.unk_token_id not in ids


def test_tiny_model_is_the_same_every_time_and_leaves_rng_alone():
    torch.manual_seed(0)
    random.seed(0)
    before = (torch.rand(1), random.random())
    torch.manual_seed(0)
    random.seed(0)
    first, second = models.tiny_distilbert(), models.tiny_distilbert()
    after = (torch.rand(1), random.random())
    assert before == after, "building the tiny model must not consume the global random state"
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name
    with torch.no_grad():  # the weights are drawn once and copied: a model owns its copy
        for parameter in first.parameters():
            parameter.add_(1.0)
    for (name, a), b in zip(models.tiny_distilbert().state_dict().items(),
                            second.state_dict().values()):
        assert torch.equal(a, b), f"{name} changed with another model's training"


def test_tiny_model_has_no_dropout_and_trains():
    model = models.tiny_distilbert()
    assert model.config.dropout == 0 and model.config.attention_dropout == 0
    assert model.config.dim == 128 and model.config.vocab_size == 30522
    assert all(p.requires_grad for p in model.parameters())
    weights = model.transformer.layer[0].attention.q_lin.weight
    assert 0.015 < weights.std().item() < 0.025, "weights are drawn with std 0.02"


def test_full_profile_loads_pretrained_weights(monkeypatch):
    calls = []

    def fake_from_pretrained(name, *args, **kwargs):
        calls.append(name)
        return "pretrained model"

    monkeypatch.setattr(models.DistilBertModel, "from_pretrained", fake_from_pretrained)
    monkeypatch.setattr(models.AutoTokenizer, "from_pretrained", fake_from_pretrained)
    assert models.pretrained_distilbert(PROFILES["full"]) == "pretrained model"
    assert models.load_tokenizer(PROFILES["full"]) == "pretrained model"
    assert calls == ["distilbert-base-uncased", "distilbert-base-uncased"]
