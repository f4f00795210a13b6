"""read_ledger: every export habit read exactly, every row kept, every bad cell named."""

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from contract import MONEY

from payrecon.errors import InputError
from payrecon.ledger import read_ledger
from payrecon.ledger.mapping import Mapping, detect_columns, load_mapping

DATA = Path(__file__).resolve().parent.parent / "data"

MAPPING = """
[columns]
id_payout = "Merchant Order ID"
amount = "Amount"
currency = "Currency"
fee = "Fee"
status = "State"
date = "Booking date"
[parse]
delimiter = ";"
decimal = ","
thousands = "."
amount_sign = "abs"
dayfirst = true
[status_map]
PAID = "SUCCESS"
Rejected = "FAILED"
"IN PROGRESS" = "PROCESSING"
"""

MESSY = (
    "Booking date;Merchant Order ID;Amount;Currency;Fee;State\n"
    "01.03.2024;po-1;-1.234.567,89; eur ;-2,50;Paid\n"
    "02.03.2024; po-2 ;(10,00);EUR;;rejected\n"
    "\n"
    "03.03.2024;po-3;7,5-;idr;0;in progress\n"
    "04.03.2024;po-4;€ 3,10;EUR;-0,1;Settled\n"
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_messy_semicolon_export_with_mapping(tmp_path: Path) -> None:
    ledger = read_ledger(_write(tmp_path, "l.csv", MESSY), _write(tmp_path, "m.toml", MAPPING))
    assert ledger["source_row"].tolist() == [
        2,
        3,
        5,
        6,
    ]  # the blank line 4 is skipped, not miscounted
    assert ledger["id_payout"].tolist() == ["po-1", "po-2", "po-3", "po-4"]
    assert ledger["amount"].dtype == MONEY
    assert ledger["amount"].tolist() == [
        Decimal("1234567.89"),
        Decimal("10"),
        Decimal("7.5"),
        Decimal("3.10"),
    ]
    assert ledger["fee"].tolist()[0] == Decimal("2.50")
    assert pd.isna(ledger["fee"].iloc[1])
    assert ledger["currency"].tolist() == ["EUR", "EUR", "IDR", "EUR"]
    assert ledger["status"].tolist() == ["Paid", "rejected", "in progress", "Settled"]
    assert ledger["status_mapped"].tolist() == ["SUCCESS", "FAILED", "PROCESSING", "SETTLED"]
    assert ledger["date"].dt.day.tolist() == [1, 2, 3, 4]
    assert str(ledger["date"].dt.tz) == "UTC"
    assert ledger["raw.Amount"].tolist()[0] == "-1.234.567,89"
    info = ledger.attrs["payrecon"]
    assert info["detected"] is False and info["columns"]["amount"] == "Amount"


def test_columns_and_decimal_comma_found_without_a_mapping(tmp_path: Path) -> None:
    ledger = read_ledger(_write(tmp_path, "l.csv", MESSY))
    info = ledger.attrs["payrecon"]
    assert info["detected"] is True
    assert info["columns"] == {
        "id_payout": "Merchant Order ID",
        "amount": "Amount",
        "currency": "Currency",
        "fee": "Fee",
        "status": "State",
        "date": "Booking date",
    }
    assert info["decimal"] == ","
    # payouts booked negative (most rows with an id): compared by magnitude, and said so
    assert info["sign"] == "abs" and info["sign_detected"]
    assert ledger["amount"].tolist()[0] == Decimal("1234567.89")


def test_detect_columns_by_common_names() -> None:
    assert detect_columns(["idPayout", "Payout Amount", "CCY", "fee_amount"]) == {
        "id_payout": "idPayout",
        "amount": "Payout Amount",
        "currency": "CCY",
        "fee": "fee_amount",
    }


def test_tab_delimited_sniffed_and_quoted_multiline_cells_keep_line_numbers(tmp_path: Path) -> None:
    text = 'id_payout\tamount\tnote\nA\t1.00\t"two\nlines"\nB\t2.00\tok\n'
    ledger = read_ledger(_write(tmp_path, "l.tsv", text))
    assert ledger["id_payout"].tolist() == ["A", "B"]
    assert ledger["source_row"].tolist() == [2, 4]


def test_header_row_skips_a_title(tmp_path: Path) -> None:
    text = "Export of payouts\nid_payout,amount\nA,1\n"
    mp = _write(tmp_path, "m.toml", "[parse]\nheader_row = 2\n")
    ledger = read_ledger(_write(tmp_path, "l.csv", text), mp)
    assert ledger["source_row"].tolist() == [3]


def test_bad_cells_stop_the_load_with_row_and_column(tmp_path: Path) -> None:
    text = "id_payout,amount,fee,date\nA,1.00,0,2024-01-01\nB,,0,2024-01-02\nC,abc,x,someday\n"
    with pytest.raises(InputError) as info:
        read_ledger(_write(tmp_path, "l.csv", text))
    msg = str(info.value)
    assert "l.csv, row 3, column 'amount': amount is blank" in msg
    assert "row 4, column 'amount': not an amount: 'abc'" in msg
    assert "row 4, column 'fee': not an amount: 'x'" in msg
    assert "row 4, column 'date': not a date: 'someday'" in msg
    assert len(info.value.problems) == 4


def test_many_bad_cells_show_the_first_twenty_and_the_count(tmp_path: Path) -> None:
    rows = "".join(f"id{i},bad{i}\n" for i in range(30))
    with pytest.raises(InputError) as info:
        read_ledger(_write(tmp_path, "l.csv", "id_payout,amount\n" + rows))
    msg = str(info.value)
    assert "(30 problem(s))" in msg and "... and 10 more" in msg
    assert "row 21, column 'amount'" in msg and "row 22," not in msg


def test_wrong_field_count_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="row 3: more fields than the header's 2 columns"):
        read_ledger(_write(tmp_path, "l.csv", "id_payout,amount\nA,1\nB,2,3\n"))


def test_an_id_breaking_the_platform_rule_is_not_a_load_problem(tmp_path: Path) -> None:
    ledger = read_ledger(_write(tmp_path, "l.csv", "id_payout,amount\nPO 1/2,1\n"))
    assert ledger["id_payout"].tolist() == ["PO 1/2"]


def test_missing_columns_and_bad_mappings(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot tell which column is amount"):
        read_ledger(_write(tmp_path, "l.csv", "id_payout,total_due\nA,1\n"))
    mp = _write(tmp_path, "m.toml", '[columns]\nid_payout = "Id"\namount = "Amt"\n')
    with pytest.raises(InputError, match="column for amount not in the ledger's header"):
        read_ledger(_write(tmp_path, "l2.csv", "Id,Amount\nA,1\n"), mp)
    bad = _write(tmp_path, "bad.toml", '[columns]\nid_payout = "Id"\n[parse]\nthousand = "."\n')
    with pytest.raises(InputError) as info:
        load_mapping(bad)
    assert "parse.thousand" in str(info.value) and "columns.amount" in str(info.value)
    with pytest.raises(InputError, match="not valid TOML"):
        load_mapping(_write(tmp_path, "x.toml", "[columns\n"))
    with pytest.raises(InputError, match="ledger file not found"):
        read_ledger(tmp_path / "nope.csv")


def test_excel_ledger_with_sheet_rows(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Merchant Order ID", "Amount", "Currency", "State", "Date"])
    ws.append(["po-1", 1234.56, "EUR", "PAID", pd.Timestamp("2024-03-01").to_pydatetime()])
    ws.append([None, None, None, None, None])  # a blank sheet row: skipped, numbering kept
    ws.append(["po-2", "-1.234,50", "eur", "rejected", "2024-03-02"])
    ws.append([12345, 100, "IDR", "PAID", "2024-03-03"])
    path = tmp_path / "l.xlsx"
    wb.save(path)
    mapping = Mapping(decimal=",", status_map={"paid": "SUCCESS"})
    ledger = read_ledger(path, mapping)
    assert ledger["source_row"].tolist() == [2, 4, 5]
    assert ledger["id_payout"].tolist() == ["po-1", "po-2", "12345"]
    # The text cell is written with the export's decimal comma; numeric cells read exactly too.
    assert ledger["amount"].tolist() == [Decimal("1234.56"), Decimal("-1234.50"), Decimal("100")]
    assert ledger["status_mapped"].tolist() == ["SUCCESS", "REJECTED", "SUCCESS"]


def test_parquet_ledger_keeps_decimals(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id_payout": ["a", "b"],
            "amount": pa.array([Decimal("0.10"), Decimal("0.20")], pa.decimal128(12, 2)),
            "fee": pa.array([0.1, None]),
            "currency": ["usd", "USD"],
        }
    )
    path = tmp_path / "l.parquet"
    pq.write_table(table, path)
    ledger = read_ledger(path)
    assert ledger["source_row"].tolist() == [1, 2]
    assert ledger["amount"].sum() == Decimal("0.30")
    assert ledger["fee"].tolist()[0] == Decimal("0.1")


def test_the_sample_ledger_reads() -> None:
    ledger = read_ledger(DATA / "ledger.csv", DATA / "mapping.toml")
    assert len(ledger) == len((DATA / "ledger.csv").read_text().splitlines()) - 1
    assert (ledger["amount"] > 0).all()  # negative debits, amount_sign = "abs"


def test_header_row_counts_blank_lines_as_an_editor_does(tmp_path: Path) -> None:
    text = "\nPayout export\n\n\nid_payout;amount\n\nA;1,50\n"
    mp = _write(tmp_path, "m.toml", "[parse]\nheader_row = 5\n")
    ledger = read_ledger(_write(tmp_path, "l.csv", text), mp)
    assert ledger["source_row"].tolist() == [7]
    assert ledger["amount"].tolist() == [Decimal("1.5")]
    from payrecon.ledger import set_aside

    assert set_aside(ledger)[["source_row", "reason"]].values.tolist() == [[2, "preamble"]]


def test_encodings_are_detected_and_a_wrong_one_is_named(tmp_path: Path) -> None:
    text = "Empfänger;id_payout;Betrag\nMüller;PO-1;-1.155,00\n"
    for enc in ("cp1252", "utf-16", "utf-8-sig"):
        path = tmp_path / f"{enc}.csv"
        path.write_bytes(text.encode(enc))
        ledger = read_ledger(path)
        assert ledger["raw.Empfänger"].tolist() == ["Müller"], enc
        assert ledger["amount"].tolist() == [Decimal("1155")], enc
    with pytest.raises(InputError, match=r"line 1 cannot be read as utf-8 \(byte 0xE4\)"):
        read_ledger(tmp_path / "cp1252.csv", {"parse": {"encoding": "utf-8"}})


def test_a_binary_file_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes(b"PK\x03\x04\x00\x00" + bytes(range(256)))
    with pytest.raises(InputError, match="not a text file"):
        read_ledger(path)


def test_a_currency_cell_that_is_no_code_is_a_bad_cell(tmp_path: Path) -> None:
    text = 'id_payout,amount,currency\nA,1,eur\nB,2,"=HYPERLINK(""http://x"")"\nC,3,USDT\nD,4,€\n'
    with pytest.raises(InputError) as info:
        read_ledger(_write(tmp_path, "l.csv", text))
    assert [(p.row, p.column) for p in info.value.problems] == [(3, "currency")]
    assert "not a currency code: '=HYPERLINK" in str(info.value)
    ok = read_ledger(_write(tmp_path, "k.csv", text.replace('"=HYPERLINK(""http://x"")"', "gbp")))
    assert ok["currency"].tolist() == ["EUR", "GBP", "USDT", "EUR"]


def test_inspect_writes_a_mapping_that_reads_the_file_the_same_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from payrecon.cli import main

    exports = Path(__file__).parent / "fixtures" / "exports"
    target = tmp_path / "m.toml"
    assert main(["inspect", str(exports / "dkb_umsaetze.csv"), "--write-mapping", str(target)]) == 0
    out = capsys.readouterr().out
    assert "header      line 5 (detected)" in out and "rows        read" in out
    detected = read_ledger(exports / "dkb_umsaetze.csv")
    again = read_ledger(exports / "dkb_umsaetze.csv", target)
    cols = ["source_row", "id_payout", "amount", "currency"]
    pd.testing.assert_frame_equal(detected[cols], again[cols])
    assert main(["inspect", str(exports / "dkb_umsaetze.csv"), "--write-mapping", str(target)]) == 2
