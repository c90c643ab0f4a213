"""Off the runtime path: the training corpus generator (:mod:`.corpus_gen`) and the trainer
(:mod:`.trainer`) that builds the shipped model. Nothing the pipeline runs imports them."""

from cpd.nlp.training.trainer import (
    BATCH_SIZE,
    CORPUS_DIR,
    DEFAULT_EPOCHS,
    HELD_OUT,
    load_corpus,
    prepare_text,
    score_kinds,
    split,
    train,
)

__all__ = [
    "BATCH_SIZE",
    "CORPUS_DIR",
    "DEFAULT_EPOCHS",
    "HELD_OUT",
    "load_corpus",
    "prepare_text",
    "score_kinds",
    "split",
    "train",
]
