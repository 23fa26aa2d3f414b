"""What analyze_corpus reads as a corpus: lists, DataFrames, datasets.Dataset, CSV/TSV/JSONL/Parquet/text."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attn_widget.corpus import fortunes
from attn_widget.corpus.sources import read_source
from attn_widget.corpus.task import batches_of

QUOTES = ["Fortune favours the bold.", "NA", "Whatever you do, do it well.", ""]


def test_a_list_of_strings_gets_row_numbers_as_ids_and_keeps_empty_texts_for_error_rows():
    assert read_source(QUOTES) == [("0", QUOTES[0]), ("1", "NA"), ("2", QUOTES[2]), ("3", "")]


def test_csv_keeps_na_as_text_and_reads_the_id_column(tmp_path: Path):
    path = tmp_path / "quotes.csv"
    pd.DataFrame({"key": [10, 11, 12, 13], "quote": QUOTES}).to_csv(path, index=False)
    records = read_source(path, text_column="quote", id_column="key")
    assert records == [("10", QUOTES[0]), ("11", "NA"), ("12", QUOTES[2]), ("13", "")]


def test_tsv_jsonl_parquet_and_text_files_give_the_same_records(tmp_path: Path):
    frame = pd.DataFrame({"id": ["a", "b", "c"], "text": QUOTES[:3]})
    frame.to_csv(tmp_path / "q.tsv", sep="\t", index=False)
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(r) + "\n" for r in frame.to_dict("records")) + "\n")
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "q.parquet")
    expected = [("a", QUOTES[0]), ("b", "NA"), ("c", QUOTES[2])]
    for name in ("q.tsv", "q.jsonl", "q.parquet"):
        assert read_source(tmp_path / name, id_column="id") == expected, name
    (tmp_path / "q.txt").write_text(f"{QUOTES[0]}\n\nNA\n{QUOTES[2]}\n", encoding="utf-8")
    lines = read_source(tmp_path / "q.txt", id_column="line")
    assert lines == [("1", QUOTES[0]), ("3", "NA"), ("4", QUOTES[2])]


def test_a_folder_of_parquet_files_is_one_source(tmp_path: Path):
    folder = tmp_path / "parts"
    folder.mkdir()
    pq.write_table(pa.table({"id": ["a"], "text": ["one"]}), folder / "0.parquet")
    pq.write_table(pa.table({"id": ["b"], "text": ["two"]}), folder / "1.parquet")
    assert sorted(read_source(folder, id_column="id")) == [("a", "one"), ("b", "two")]


def test_a_dataframe_and_a_list_of_dicts_and_a_limit():
    frame = pd.DataFrame({"text": QUOTES, "n": [5, 6, 7, 8]})
    assert read_source(frame, id_column="n", limit=2) == [("5", QUOTES[0]), ("6", "NA")]
    rows = [{"id": "x", "text": "one"}, {"id": "y", "text": "two"}]
    assert read_source(rows, id_column="id") == [("x", "one"), ("y", "two")]


def test_a_hugging_face_dataset_is_read_by_its_columns():
    import datasets  # the test extra installs it

    dataset = datasets.Dataset.from_dict({"sentence": QUOTES[:3], "uid": [7, 8, 9]})
    assert read_source(dataset, text_column="sentence", id_column="uid") == [
        ("7", QUOTES[0]), ("8", "NA"), ("9", QUOTES[2])
    ]


@pytest.mark.parametrize(
    ("source", "kwargs", "message"),
    [
        (["a", "b"], {"id_column": "key"}, r"no column 'key'; its columns are \['text'\]"),
        ([{"id": 1, "text": "a"}, {"id": 1, "text": "b"}], {"id_column": "id"}, r"repeats ids \['1'\]"),
        ([{"id": None, "text": "a"}], {"id_column": "id"}, "row 0 has no id"),
        ([], {}, "holds no texts"),
        (["a"], {"limit": 0}, "limit=0"),
        ("missing.csv", {}, "no corpus file at 'missing.csv'"),
    ],
)
def test_a_source_that_cannot_be_read_is_refused_naming_the_problem(source, kwargs, message):
    with pytest.raises(ValueError, match=message):
        read_source(source, **kwargs)


def test_an_unknown_suffix_and_an_unknown_kind_of_source_say_what_is_accepted(tmp_path: Path):
    (tmp_path / "q.xlsx").write_bytes(b"")
    with pytest.raises(ValueError, match=r"cannot read \.xlsx; use one of"):
        read_source(tmp_path / "q.xlsx")
    with pytest.raises(TypeError, match="pass a list of strings"):
        read_source(42)
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\nnot json\n')
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        read_source(tmp_path / "bad.jsonl")


def test_debian_fortunes_are_real_quotations_with_stable_ids():
    wisdom = fortunes(["wisdom"])
    assert len(wisdom) > 300
    assert wisdom[0]["id"] == "wisdom/0"
    assert all(item["text"] and "\n%\n" not in item["text"] for item in wisdom)
    short = fortunes(["wisdom"], max_chars=80)
    assert 0 < len(short) < len(wisdom)
    assert all(len(item["text"]) <= 80 for item in short)
    with pytest.raises(FileNotFoundError, match="apt-get install fortunes"):
        fortunes(folder="/nonexistent")


@given(st.lists(st.text(min_size=1, max_size=5), unique=True, max_size=40), st.integers(1, 9))
def test_batches_split_the_pending_texts_in_order_and_the_same_ids_always_make_the_same_name(ids, size):
    records = [(i, f"text of {i}", n) for n, i in enumerate(ids)]
    batches = batches_of(records, size)
    assert [r for b in batches for r in b.records()] == records
    assert all(1 <= len(b.ids) <= size for b in batches)
    again = batches_of(list(records), size)
    assert [b.name for b in again] == [b.name for b in batches]
    assert len({b.name for b in batches}) == len(batches)
