"""Training esrerank's models on a user's data: cross-encoder rerankers and similarity scorers,
and bi-encoders."""

from .bi import train_bi_encoder
from .cross import LOSSES, train_reranker, train_similarity
from .data import Candidate, DevQuery, Group, ScoredPair, read_relevance_file, read_scored_pairs
from .inputs import beir_files, from_qrels, from_relevance_file, from_scored_pairs
from .loop import Settings, TrainReport
from .mining import SOURCES, mine

__all__ = [
    "LOSSES",
    "SOURCES",
    "Candidate",
    "DevQuery",
    "Group",
    "ScoredPair",
    "Settings",
    "TrainReport",
    "beir_files",
    "from_qrels",
    "from_relevance_file",
    "from_scored_pairs",
    "mine",
    "read_relevance_file",
    "read_scored_pairs",
    "train_bi_encoder",
    "train_reranker",
    "train_similarity",
]
