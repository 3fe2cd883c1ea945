"""The message tables: both languages, the same placeholders, CLDR plural forms and local numbers."""

from __future__ import annotations

import string

import pytest

from imagegate.cli.watch_cmd import TEXTS as WATCH_TEXTS
from imagegate.words import messages

TABLES = {"TEXTS": messages.TEXTS, "UI": messages.UI, "STATES": messages.STATES, "RULES": messages.RULES,
          "DECISIONS": messages.DECISIONS, "CATEGORIES": messages.CATEGORIES, "ROLES": messages.ROLES,
          "watch TEXTS": WATCH_TEXTS, "WEB": messages.WEB, "EVENTS": messages.EVENTS}


def forms(template) -> list[str]:
    """Every text a template can give: itself, or each of its plural forms."""
    if isinstance(template, dict):
        return [v for k, v in template.items() if k != "plural"]
    return [template]


def fields(template) -> set[str]:
    """The placeholders of a template, over all its plural forms (a `one` form may spell out its count)."""
    found = {f for t in forms(template) for _, f, _, _ in string.Formatter().parse(t) if f}
    if isinstance(template, dict):
        found.add(template["plural"])
    return found


@pytest.mark.parametrize("name", TABLES)
def test_every_table_has_both_languages_with_the_same_placeholders(name):
    for code, entry in TABLES[name].items():
        assert set(entry) == set(messages.LANGS), (name, code)
        assert fields(entry["en"]) == fields(entry["fi"]), (name, code)


@pytest.mark.parametrize("name", TABLES)
def test_plural_forms_are_cldr_categories_of_their_language(name):
    for code, entry in TABLES[name].items():
        for lang in messages.LANGS:
            t = entry[lang]
            if isinstance(t, dict):
                categories = {k for k in t if k != "plural" and not k.startswith("=")}
                # Babel's CLDR data: fi and en have one and other
                assert categories == set(messages._locale(lang).plural_form.tags) | {"other"}, (name, code, lang)
                assert t["plural"] in fields(entry["en"]), (name, code)


@pytest.mark.parametrize("lang, n, expected", [
    ("fi", 0, "0 kuvaa: 0 sallittua, 0 suostumusta vaativaa, 0 estettyä, 0 virhettä"),
    ("fi", 1, "1 kuva: 1 sallittu, 1 suostumusta vaativa, 1 estetty, 1 virhe"),
    ("fi", 2, "2 kuvaa: 2 sallittua, 2 suostumusta vaativaa, 2 estettyä, 2 virhettä"),
    ("en", 0, "0 photos: 0 allowed, 0 need consent, 0 blocked, 0 errors"),
    ("en", 1, "1 photo: 1 allowed, 1 needs consent, 1 blocked, 1 error"),
    ("en", 2, "2 photos: 2 allowed, 2 need consent, 2 blocked, 2 errors"),
])
def test_summary_line_takes_the_plural_form_of_each_count(lang, n, expected):
    counts = {"allowed": n, "needs_consent": n, "blocked": n, "error": n}
    line = messages.ui("summary", lang, photos=messages.ui("count_photos", lang, n=n),
                       counts=messages.counts_text(counts, lang))
    assert line == expected


@pytest.mark.parametrize("lang, clients, expected", [
    ("fi", 0, "Julkisen tapahtuman väkijoukko (tilaisuus: julkinen): 12 henkilöä, joukossa ei asiakkaita."),
    ("fi", 1, "Julkisen tapahtuman väkijoukko (tilaisuus: julkinen): 12 henkilöä, joista yksi on asiakas; hän ei "
              "erotu joukosta."),
    ("fi", 2, "Julkisen tapahtuman väkijoukko (tilaisuus: julkinen): 12 henkilöä, joista asiakkaita on 2; yksikään heistä ei erotu "
              "joukosta."),
    ("en", 0, "Public event crowd (event: public): 12 people, no clients among them."),
    ("en", 1, "Public event crowd (event: public): 12 people, one client among them, not prominent."),
    ("en", 2, "Public event crowd (event: public): 12 people, 2 clients among them, none prominent."),
])
def test_crowd_reason_for_0_1_2_clients(lang, clients, expected):
    assert messages.render("crowd", lang, n=12, clients=clients) == expected


def test_a_faces_label_selects_the_form_by_how_many_faces_it_names():
    one, two = messages.faces_label([0], "fi"), messages.faces_label([0, 2], "fi")
    assert messages.render("unknown", "fi", faces=one).startswith("Kasvot #1: tunnistettava henkilö, jota ei ole")
    assert messages.render("unknown", "fi", faces=two).startswith("Kasvot #1, #3: tunnistettavia henkilöitä, joita")
    assert messages.render("unknown", "en", faces=messages.faces_label([0, 2], "en")).startswith(
        "Faces #1, #3: identifiable people not in")
    # `kasvot` is plural in Finnish, one face or two: never "Kasvot #1, #2: ... liian pieni"
    for label in (one, two):
        assert "liian pienet tai epätarkat" in messages.render("unmatchable", "fi", faces=label)


@pytest.mark.parametrize("n, fi, en", [
    (0, "0 kasvot, joista yksikään ei ole", "0 faces, none identifiable"),
    (1, "Yhdet kasvot, jotka eivät ole tunnistettavat", "One face, not identifiable"),
    (2, "2 kasvot, joista yksikään ei ole", "2 faces, none identifiable"),
])
def test_not_identifiable_for_0_1_2_faces(n, fi, en):
    assert messages.render("not_identifiable", "fi", n=n, px=30).startswith(fi)
    assert messages.render("not_identifiable", "en", n=n, px=30).startswith(en)


def test_numbers_are_written_the_finnish_way():
    fi, _ = messages.error_parts("too_many_pixels", "fi", {"width": 12000, "height": 12000,
                                                           "pixels": 144_000_000, "limit": 120_000_000})
    assert fi == "kuva väittää olevansa 12000 x 12000 = 144\xa0000\xa0000 pikseliä, yli rajan 120\xa0000\xa0000"
    en, _ = messages.error_parts("too_many_pixels", "en", {"width": 12000, "height": 12000,
                                                           "pixels": 144_000_000, "limit": 120_000_000})
    assert en.endswith("12000 x 12000 = 144,000,000 pixels, above the limit of 120,000,000")
    assert messages.render("possible_client", "fi", faces="Kasvot #1", name="A", distance=0.456).count("0,46") == 1
    assert messages.render("possible_client", "en", faces="Face #1", name="A", distance=0.456).count("0.46") == 1


def test_finnish_texts_use_one_word_per_thing_and_no_library_jargon():
    # RULES are the foundation's own words, quoted
    finnish = " ".join(t for name, table in TABLES.items() if name != "RULES" for entry in table.values()
                       for t in forms(entry["fi"]))
    finnish += " ".join(e["fi"] for e in messages.ERRORS.values())
    for word in ("Pillow", "pommi", "decompression", "lupa ", "luvan", "luparekisteri", "henkilötunnis",
                 "(staff)", "(client)"):
        assert word not in finnish, word
    assert messages.role_text("staff", "fi") == "työntekijä"
    assert messages.role_text("partner", "fi") == "yhteistyökumppani"


def test_the_register_s_consent_words_have_both_languages_and_forms_with_the_same_placeholders():
    for code, entry in messages.CONSENT.items():
        assert set(entry) == set(messages.LANGS), code
        for form in (0, 1):  # the phrase of `register list`, the cell of the register page
            assert fields(entry["en"][form]) == fields(entry["fi"][form]), (code, form)


@pytest.mark.parametrize("status, role, line, cell", [
    ({"state": "valid"}, "staff", "consent, no end date", "yes"),
    ({"state": "valid", "valid_until": "2099-06-30"}, "staff", "consent until 2099-06-30", "until 2099-06-30"),
    ({"state": "valid", "valid_until": "2099-06-30", "risks_explained": False}, "client",
     "consent until 2099-06-30; risks not recorded as explained, so it does not count (rule 4)",
     "risks not explained"),
    ({"state": "valid", "risks_explained": True}, "client", "consent, no end date", "yes"),
    ({"state": "expired", "valid_until": "2001-01-01"}, "staff", "consent expired on 2001-01-01",
     "expired 2001-01-01"),
    ({"state": "withdrawn"}, "partner", "consent withdrawn", "withdrawn"),
    ({"state": "not_yet", "valid_from": "2099-01-01"}, "staff", "consent counts only from 2099-01-01",
     "valid only from 2099-01-01"),
    ({"state": "none"}, "staff", "no consent", "-"),
    ({"state": "other_channel"}, "staff", "no consent", "-"),
])
def test_a_consent_reads_the_same_on_the_command_line_and_the_page(status, role, line, cell):
    assert messages.consent_cell(status, role, "en").text == line
    brief = messages.consent_cell(status, role, "en", brief=True)
    assert brief.text == cell
    assert brief.state == ("no_risks" if line.endswith("(rule 4)") else
                           "none" if status["state"] == "other_channel" else status["state"])


def test_a_future_consent_says_from_which_day_in_finnish_too():
    status = {"state": "not_yet", "valid_from": "2099-01-01"}
    assert messages.consent_cell(status, "staff", "fi").text == "suostumus on voimassa vasta 2099-01-01 alkaen"
    assert messages.consent_cell(status, "staff", "fi", brief=True).text == "voimassa vasta 2099-01-01 alkaen"
