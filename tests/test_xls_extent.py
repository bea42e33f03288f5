"""The .xls size check (ingest/read.py `_check_xls_extent`, issue 14): the DIMENSIONS records of
the Workbook stream are read from the OLE compound file before calamine sees it. The fixture
(tests/test_hostile.py, case xls_dimensions_bomb) has its stream in the mini stream; these
containers, built here, hold it in regular sectors, and one has a FAT chain that loops."""

from __future__ import annotations

import struct

import pytest

from landaudit.ingest.read import ReadFailure, _cfb_stream, _check_xls_extent

END, FREE, FATSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD


def biff(rows: int, cols: int, padding: int = 5000) -> bytes:
    """BOF, DIMENSIONS (rows × cols), filler records (past the 4,096-byte mini-stream cutoff), EOF."""
    records = [struct.pack("<HH", 0x0809, 16) + bytes(16),
               struct.pack("<HHIIHHH", 0x0200, 14, 0, rows, 0, cols, 0)]
    while sum(map(len, records)) < padding:
        records.append(struct.pack("<HH", 0x003C, 200) + bytes(200))      # CONTINUE, ignored
    records.append(struct.pack("<HH", 0x000A, 0))
    return b"".join(records)


def compound_file(stream: bytes, name: str = "Workbook", *, loop: bool = False) -> bytes:
    """A version-3 compound file (512-byte sectors): sector 0 the FAT, 1 the directory, 2… the stream."""
    n = -(-len(stream) // 512)
    fat = [FATSECT, END] + [2 + i + 1 for i in range(n - 1)] + [END]
    if loop:
        fat[2 + n - 1] = 2                                                 # the last sector points to the first
    fat += [FREE] * (128 - len(fat))
    header = bytearray(512)
    header[:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9)
    struct.pack_into("<H", header, 0x20, 6)
    struct.pack_into("<IIIIIIIII", header, 0x28, 0, 1, 1, 0, 4096, END, 0, END, 0)
    struct.pack_into("<109I", header, 0x4C, 0, *[FREE] * 108)
    directory = bytearray(512)

    def entry(at: int, entry_name: str, kind: int, start: int, size: int) -> None:
        encoded = (entry_name + "\0").encode("utf-16-le")
        directory[at:at + len(encoded)] = encoded
        struct.pack_into("<HBB", directory, at + 0x40, len(encoded), kind, 1)
        struct.pack_into("<III", directory, at + 0x44, FREE, FREE, 1 if kind == 5 else FREE)
        struct.pack_into("<II", directory, at + 0x74, start, size)

    entry(0, "Root Entry", 5, END, 0)
    entry(128, name, 2, 2, len(stream))
    body = stream + bytes(n * 512 - len(stream))
    return bytes(header) + struct.pack("<128I", *fat) + bytes(directory) + body


@pytest.mark.parametrize("name", ["Workbook", "Book", "WORKBOOK"])
def test_the_stream_is_found_in_regular_sectors(name):
    stream = biff(10, 5)
    assert _cfb_stream(compound_file(stream, name), ("workbook", "book")) == stream


@pytest.mark.parametrize(("rows", "cols", "refused"), [
    (65_536, 256, False),                 # a full BIFF8 sheet: 16.8 million cells, under 50 million
    (1_000_000, 16_384, True),
    (0xFFFFFFFF, 0xFFFF, True),
    (50_000_000, 1, False),               # exactly the limit
    (50_000_001, 1, True),
])
def test_dimensions_past_the_cell_limit_are_refused(rows, cols, refused):
    data = compound_file(biff(rows, cols))
    if refused:
        with pytest.raises(ReadFailure) as failure:
            _check_xls_extent(data, 50_000_000)
        assert failure.value.code == "sheet_too_large" and f"{rows:,} 行" in failure.value.detail
    else:
        _check_xls_extent(data, 50_000_000)


def test_a_looping_chain_ends_and_a_broken_container_is_left_to_the_reader():
    looped = compound_file(biff(1_000_000, 16_384), loop=True)
    with pytest.raises(ReadFailure):           # the records before the loop closes are still read
        _check_xls_extent(looped, 50_000_000)
    _check_xls_extent(compound_file(biff(1_000_000, 16_384))[:700], 50_000_000)   # truncated: calamine says corrupt
    _check_xls_extent(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(100), 50_000_000)
