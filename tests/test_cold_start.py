"""A fresh question reads little: the store's records from its SQLite file without Chroma, the
question's tokenizer pieces from a table; neither is ever used stale."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import jieba
import pytest
from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from app import jieba_words
from app.retrieval import HybridRetriever
from app.services import open_store
from app.settings import SAMPLE_CORPUS, Settings
from app.text import _CATEGORY, DOMAIN_TERMS
from app.text import Tokenizer as TextTokenizer
from tests.test_snapshot import CORPUS_WIDE, LOOKUP, in_new_process
from vectorstore import FazhiEmbeddings, PassageStore, chroma_file
from vectorstore.embeddings import default_model_cache
from vectorstore.offline_model import ensure_offline_model
from vectorstore.question_tokenizer import QuestionTokenizer
from vectorstore.store import PASSAGES, STORE_INFO


@pytest.fixture
def store_dir(tmp_path: Path, sample_store_dir: Path, sample_store: PassageStore) -> Path:
    """A copy of the sample store with a current snapshot, for a test that changes it."""
    HybridRetriever(sample_store).snapshot()
    copy = tmp_path / "store"
    shutil.copytree(sample_store_dir, copy)
    return copy


def opened(path: Path, embeddings: FazhiEmbeddings) -> PassageStore:
    return open_store(Settings(_env_file=None, store=path), embeddings)


def test_a_question_in_a_new_process_imports_no_chroma(store_dir, service):
    script = f"""
import json, sys
from typer.testing import CliRunner
from app.cli import cli
for question in {[LOOKUP, CORPUS_WIDE]!r}:
    result = CliRunner().invoke(cli, ["ask", question, "--json", "--store", "{store_dir}"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    print(json.dumps([answer["answer"], answer["townships"]], ensure_ascii=False))
print(sorted(m for m in ("chromadb", "langchain_chroma") if m in sys.modules))
"""
    *answers, imported = in_new_process(script)
    assert imported == "[]"
    want = [service.ask(q) for q in (LOOKUP, CORPUS_WIDE)]
    assert [json.loads(a) for a in answers] == [[a.answer, a.townships] for a in want]


# stated by meaning (worded unlike the reports): quoted at the sentences closest to it
BY_MEANING = "哪些镇承认干部或执法人员的法治培训没跟上、培训力度不够？"


def test_a_question_quoted_by_meaning_in_a_new_process_imports_no_torch(store_dir, service):
    """Its quotes are the sentences closest to the question, embedded now: a new process
    embeds those few in numpy instead of importing torch, and quotes the same sentences (the
    loaded model's fast path here keeps fp32's vectors to ~3e-5; an int8 one may not)."""
    script = f"""
import json, sys
from typer.testing import CliRunner
from app.cli import cli
from vectorstore.question_encoder import QuestionEncoder
embedded = []
encode_many = QuestionEncoder.encode_many
def counted(self, texts):
    embedded.extend(texts)
    return encode_many(self, texts)
QuestionEncoder.encode_many = counted
result = CliRunner().invoke(cli, ["ask", {BY_MEANING!r}, "--json", "--store", "{store_dir}"])
assert result.exit_code == 0, result.output
answer = json.loads(result.stdout)
print(json.dumps([answer["townships"], [c["quote"] for c in answer["citations"]]], ensure_ascii=False))
print(len([t for t in embedded if t.startswith("passage: ")]), "torch" in sys.modules)
"""
    answer, imported = in_new_process(script)
    sentences, torch_imported = imported.split()
    assert int(sentences) > 0 and torch_imported == "False"
    want = service.ask(BY_MEANING)
    townships, quotes = json.loads(answer)
    assert want.townships and townships == want.townships
    if service.store.embeddings.client.fazhi_fast_path in ("fp32", "bf16"):
        assert quotes == [c.quote for c in want.citations]


def test_the_version_read_from_the_file_follows_another_writer(store_dir, embeddings):
    reader = opened(store_dir, embeddings)
    before, passages = reader.version(), reader.count_passages()
    assert reader._chroma is None  # read from chroma.sqlite3
    writer = opened(store_dir, embeddings)
    shiqiao = next(r for r in writer.list_reports() if r.meta.township == "石桥镇")
    writer.remove_report(shiqiao.id)
    assert reader.version() == writer.version() != before
    assert reader.count_passages() == writer.count_passages() == passages - shiqiao.passage_count
    assert reader._chroma is None
    snap = HybridRetriever(reader).snapshot()  # the saved one is stale now: built again
    assert snap.version == writer.version()
    assert shiqiao.id not in {p.meta["report_id"] for p in snap.passages}


def test_a_write_chroma_logged_but_has_not_applied_is_read_through_chroma(store_dir, embeddings):
    version = opened(store_dir, embeddings).version()
    with sqlite3.connect(store_dir / chroma_file.FILE) as db:  # as a writer mid-write leaves it
        db.execute(
            "INSERT INTO embeddings_queue (seq_id, operation, topic, id, vector, encoding,"
            " metadata) SELECT seq_id + 1000000, operation, topic, id, vector, encoding,"
            " metadata FROM embeddings_queue WHERE id = 'generation'"
            " ORDER BY seq_id DESC LIMIT 1"
        )
    assert chroma_file.records(store_dir, STORE_INFO, ["generation"]) is None
    assert chroma_file.count(store_dir, PASSAGES) is not None  # another collection: up to date
    store = opened(store_dir, embeddings)
    assert store.version() == version
    assert store._chroma is not None


def test_a_file_not_laid_out_as_expected_is_read_through_chroma(tmp_path):
    (tmp_path / "store").mkdir()
    with sqlite3.connect(tmp_path / "store" / chroma_file.FILE) as db:
        db.execute("CREATE TABLE collections (id TEXT, name TEXT)")
    assert chroma_file.records(tmp_path / "store", STORE_INFO, ["generation"]) is None
    assert chroma_file.count(tmp_path / "store", PASSAGES) is None
    assert chroma_file.count(tmp_path / "nothing", PASSAGES) is None


# -- the question tokenizer --------------------------------------------------------------------


def test_the_question_tokenizer_gives_the_full_tokenizers_ids(embeddings, tmp_path):
    source = ensure_offline_model(embeddings.cache_dir or default_model_cache()) / "tokenizer.json"
    ours = QuestionTokenizer(source, tmp_path, 512)
    full = Tokenizer.from_file(str(source))
    full.enable_truncation(512)
    texts = [
        "query: 石桥镇有多少名法律明白人？",
        "query: 哪些乡镇把执法能力不足列为存在的问题？",
        "  两个  空格 and ASCII words, 123 ① ｆｕｌｌ\twidth\u3000",
        "罕见字𠀀和表情😀，未知的字符",
        "<s>特殊</s> 记号 <mask> <unk>",
        "",
        "法治政府建设" * 200,  # truncated at 512 ids
    ]
    for text in texts:
        assert ours.encode(text) == full.encode(text).ids, text


def small_tokenizer(path: Path, scores: dict[str, float]) -> Tokenizer:
    """A real unigram tokenizer with the built model's layout, saved to `path`."""
    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), *scores.items()]
    tok = Tokenizer(Unigram(pieces, unk_id=3, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>"])
    tok.save(str(path))
    return Tokenizer.from_file(str(path))


def test_a_changed_tokenizer_is_read_again_never_from_its_old_table(tmp_path):
    source, cache = tmp_path / "tokenizer.json", tmp_path / "cache"
    words = {"▁": -2.0, "法": -3.0, "治": -3.0, "法治": -4.0, "政府": -3.5, "▁法治": -5.0}
    full = small_tokenizer(source, words)
    before = QuestionTokenizer(source, cache, 64)
    assert before.encode("法治政府") == full.encode("法治政府").ids
    # the pieces now favour single characters: the same text splits differently
    changed = small_tokenizer(source, {**words, "法治": -40.0, "▁法治": -50.0})
    after = QuestionTokenizer(source, cache, 64)
    assert after.path != before.path
    assert after.encode("法治政府") == changed.encode("法治政府").ids != full.encode("法治政府").ids
    # a damaged table is built again
    after.path.write_bytes(b"not a table")
    again = QuestionTokenizer(source, cache, 64)
    assert again.encode("法治政府") == changed.encode("法治政府").ids
    assert again.path == after.path
    # the table removed under a running process (the README says the cache can be deleted):
    # the full tokenizer answers, the same ids
    again.path.unlink()
    assert again.encode("法治政府") == changed.encode("法治政府").ids


# -- jieba's dictionary, a word at a time -------------------------------------------------------


def whole_dictionary_tokenizer(words: list[str]) -> TextTokenizer:
    """A fazhi tokenizer with jieba's whole dictionary loaded, as before the word table."""
    tokenizer = TextTokenizer.__new__(TextTokenizer)
    tokenizer._jieba = jieba.Tokenizer()
    tokenizer._jieba.initialize()
    tokenizer.add_words([*DOMAIN_TERMS, *_CATEGORY, *words])
    return tokenizer


@pytest.mark.parametrize("load_all_after", [10**9, 500])
def test_words_read_from_the_table_cut_text_as_the_whole_dictionary_does(
    monkeypatch, tmp_path, load_all_after
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(jieba_words, "LOAD_ALL_AFTER", load_all_after)
    places = ["石桥镇", "宝丰县", "新田镇", "黄石街道", "涪陵区", "增福镇"]
    ours, whole = TextTokenizer(), whole_dictionary_tokenizer(places)
    assert isinstance(ours._jieba.FREQ, jieba_words.WordFrequencies)
    ours.add_words(places)
    texts = [
        LOOKUP,
        CORPUS_WIDE,
        "涪陵增福镇和宝丰县石桥镇的法律明白人、调解员各有多少名？",
        "干部或执法人员培训，微信、抖音这类新媒体普法",
        *sorted(SAMPLE_CORPUS.glob("*.txt"))[0].read_text(encoding="utf-8").splitlines()[:40],
    ]
    for text in texts:
        for cut in ("cut", "words", "word_groups"):
            assert getattr(ours, cut)(text) == getattr(whole, cut)(text), (cut, text)
    assert ours._jieba.total == whole._jieba.total
    loaded_all = not isinstance(ours._jieba.FREQ, jieba_words.WordFrequencies)
    assert loaded_all == (load_all_after == 500)
    ours.add_words(["新词测试镇"])  # added after the whole dictionary took the table's place
    whole.add_words(["新词测试镇"])
    assert ours.cut("新词测试镇的情况") == whole.cut("新词测试镇的情况")


def test_a_damaged_or_other_dictionarys_word_table_is_built_again(tmp_path):
    path = jieba_words.table(tmp_path)
    owner = jieba.Tokenizer()
    assert jieba_words.WordFrequencies(owner, path).get("法治") is not None
    with sqlite3.connect(path) as db:  # a table of another jieba dictionary
        db.execute("UPDATE settings SET identity = 'another dict.txt'")
    with pytest.raises(sqlite3.DatabaseError):
        jieba_words.WordFrequencies(owner, path)  # never read
    assert jieba_words.table(tmp_path) == path  # built again
    assert jieba_words.WordFrequencies(owner, path).get("法治") is not None
    path.write_bytes(b"not a table")
    assert jieba_words.table(tmp_path) == path
    assert jieba_words.WordFrequencies(owner, path).get("法治") is not None


def test_a_cache_that_cannot_be_written_is_found_out_before_the_dictionary_loads(
    monkeypatch, tmp_path
):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")

    def whole_dictionary():
        raise AssertionError("loaded jieba's whole dictionary for a table it cannot write")

    monkeypatch.setattr(jieba_words, "_whole_dictionary", whole_dictionary)
    for _ in range(2):  # and the second time without trying the folder again
        with pytest.raises(OSError):
            jieba_words.table(not_a_folder / "fazhi")
