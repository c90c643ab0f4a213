"""Training the kind classifier on the project's corpus, reproducibly.

The corpus is ``corpus/handwritten.jsonl`` plus ``corpus_gen.generate(seed)``. A fixed share
is held out (chosen by a seeded shuffle) to report kind accuracy and macro-F; the classifier is
trained on the rest with a fixed seed and a fixed example order per epoch, so the same seed
gives the same weights. The dev set is never read here.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.training import Example
from spacy.util import minibatch
from thinc.api import fix_random_seed

from cpd.nlp.hints import combine
from cpd.nlp.kinds import KINDS
from cpd.nlp.normalise import clean, truncate
from cpd.nlp.pipeline import build_blank

CORPUS_DIR = Path(__file__).parent.parent / "corpus"
DEFAULT_EPOCHS = 40
HELD_OUT = 0.15
BATCH_SIZE = 32


def load_corpus(seed: int = 0, n: int = 1200) -> list[dict[str, Any]]:
    """Handwritten records followed by ``n`` generated ones (``corpus_gen.generate(seed, n)``)."""
    records: list[dict[str, Any]] = []
    handwritten = CORPUS_DIR / "handwritten.jsonl"
    if handwritten.exists():
        with handwritten.open(encoding="utf-8") as fh:
            records.extend(json.loads(line) for line in fh if line.strip())
    generate: Callable[..., list[dict[str, Any]]] | None
    try:
        from cpd.nlp.training.corpus_gen import generate
    except ImportError:  # the generator is optional while the corpus is being written
        generate = None
    if generate is not None and n > 0:
        records.extend(generate(seed=seed, n=n))
    return [r for r in records if r.get("kind") in KINDS and r.get("text")]


def split(records: list[dict[str, Any]], seed: int = 0, held_out: float = HELD_OUT
          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A seeded, per-kind (stratified) split into training and held-out records."""
    rng = random.Random(seed)
    by_kind: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for r in records:
        by_kind[r["kind"]].append(r)
    train_set: list[dict[str, Any]] = []
    test_set: list[dict[str, Any]] = []
    for kind in KINDS:
        group = sorted(by_kind[kind], key=lambda r: str(r.get("id")))
        rng.shuffle(group)
        cut = int(round(len(group) * held_out))
        test_set.extend(group[:cut])
        train_set.extend(group[cut:])
    return train_set, test_set


def prepare_text(text: str) -> str:
    """The text the classifier sees: truncated and cleaned exactly as at extraction time."""
    return clean(truncate(text)[0])


def _examples(nlp: Language, records: Iterable[dict[str, Any]]) -> list[Example]:
    out = []
    for r in records:
        doc = nlp.make_doc(prepare_text(r["text"]))
        cats = {k: float(k == r["kind"]) for k in KINDS}
        out.append(Example.from_dict(doc, {"cats": cats}))
    return out


def score_kinds(nlp: Language, records: list[dict[str, Any]]) -> dict[str, float]:
    """Kind accuracy and macro-F of classifier alone and classifier + cues on ``records``."""
    texts = [prepare_text(r["text"]) for r in records]
    gold = [r["kind"] for r in records]
    pred_tc: list[str] = []
    pred_all: list[str] = []
    for doc in nlp.pipe(texts, batch_size=256):
        probs = [doc.cats.get(k, 0.0) for k in KINDS]
        pred_tc.append(KINDS[max(range(len(KINDS)), key=lambda i: probs[i])])
        best, _ = combine(probs, doc._.cpd_cues or [0.0] * len(KINDS))
        pred_all.append(KINDS[best])
    return {
        "kind_accuracy": _accuracy(gold, pred_all),
        "kind_macro_f": _macro_f(gold, pred_all),
        "textcat_accuracy": _accuracy(gold, pred_tc),
        "textcat_macro_f": _macro_f(gold, pred_tc),
    }


def _accuracy(gold: list[str], pred: list[str]) -> float:
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / max(1, len(gold))


def _macro_f(gold: list[str], pred: list[str]) -> float:
    fs = []
    for k in KINDS:
        tp = sum(g == k and p == k for g, p in zip(gold, pred, strict=True))
        fp = sum(g != k and p == k for g, p in zip(gold, pred, strict=True))
        fn = sum(g == k and p != k for g, p in zip(gold, pred, strict=True))
        if tp + fp + fn == 0:
            continue
        fs.append(2 * tp / (2 * tp + fp + fn))
    return sum(fs) / max(1, len(fs))


def train(out_dir: Path, seed: int = 0, epochs: int = DEFAULT_EPOCHS,
          records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Build the corpus, train the pipeline reproducibly, save it to ``out_dir``, return scores.

    ``records`` replaces the corpus (for tests). Scores are on the held-out split of the corpus:
    ``kind_accuracy``/``kind_macro_f`` (classifier + keyword cues, as shipped) and
    ``textcat_accuracy``/``textcat_macro_f`` (classifier alone).
    """
    fix_random_seed(seed)
    corpus = load_corpus(seed) if records is None else list(records)
    train_set, test_set = split(corpus, seed)
    nlp = build_blank()
    examples = _examples(nlp, train_set)
    rng = random.Random(seed)
    with nlp.select_pipes(enable=["textcat"]):
        optimizer = nlp.initialize(lambda: examples)
        for _ in range(epochs):
            order = list(examples)
            rng.shuffle(order)
            losses: dict[str, float] = {}
            for batch in minibatch(order, size=BATCH_SIZE):  # type: ignore[no-untyped-call]
                nlp.update(batch, sgd=optimizer, losses=losses)
    scores: dict[str, Any] = {"seed": seed, "epochs": epochs, "n_train": len(train_set),
                              "n_held_out": len(test_set)}
    if test_set:
        scores.update(score_kinds(nlp, test_set))
    nlp.meta["name"] = "cpd_claims"
    nlp.meta["version"] = "0.1.0"
    nlp.meta["cpd_scores"] = scores
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out_dir)
    return scores
