"""Build a tiny BERT sentence-transformers model offline: a WordPiece vocab written here, BertConfig hidden 32,
2 layers.

Fast enough to train for a few steps on CPU in a test; nothing is downloaded.
"""

from __future__ import annotations

import string
from pathlib import Path

_WORDS = """
the a an of in on and or with without to for by is are was be as at from not no this that which it its
patient disease disorder syndrome cancer carcinoma tumor tumour neoplasm infection inflammation pain fever
acute chronic severe mild primary secondary malignant benign heart cardiac lung pulmonary liver hepatic kidney renal
brain cerebral blood vessel artery vein skin bone muscle nerve cell cells tissue organ gland breast colon stomach
diabetes mellitus type insulin glucose hypertension pressure high low failure attack infarction myocardial stroke
asthma bronchitis pneumonia influenza virus viral bacterial fungal drug medication therapy treatment dose
headache migraine nausea vomiting cough dyspnea fatigue anemia anaemia obesity arthritis rheumatoid osteoarthritis
kind characterized caused by affecting condition finding procedure structure substance body part region
common cold flu sugar elevated increased decreased abnormal normal left right upper lower
""".split()


def write_vocab(path: Path) -> Path:
    """A WordPiece vocab: special tokens, characters (word-initial and ## continuation), digits, a few words."""
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars)]
    tokens += [w for w in dict.fromkeys(_WORDS) if w not in tokens]
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path


def build_tiny_model(folder: Path, *, seed: int = 0, hidden: int = 32, layers: int = 2, dropout: float = 0.1) -> Path:
    """Write a sentence-transformers folder (BERT + mean pooling) to `folder` and return it. `dropout=0`: the same
    batch gives the same loss however it is split across processes (dropout masks depend on the split)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = Path(folder)
    hf = folder.parent / f"{folder.name}-hf"
    hf.mkdir(parents=True, exist_ok=True)
    vocab = write_vocab(hf / "vocab.txt")
    tokenizer = BertTokenizerFast(vocab=str(vocab), do_lower_case=True)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    BertModel(config).save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    transformer = Transformer(str(hf), max_seq_length=64)
    model = SentenceTransformer(
        modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean")], device="cpu"
    )
    model.save(str(folder))
    return folder
