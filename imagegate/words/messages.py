"""Finnish and English texts for verdicts and reasons.

The users are Finnish communications staff, so every reason exists in both
languages and quotes the rule it applies. The language defaults to the locale
(fi for a Finnish locale, en otherwise) and can be forced with `--lang`.
"""

from __future__ import annotations

import functools
import locale
import os
import string
from collections.abc import Mapping
from typing import Any, NamedTuple

from ..codes import ConsentState, Role

LANGS = ("fi", "en")

RULES = {
    "6": {
        "en": "Rule 6: do not upload pictures of clients to social media.",
        "fi": "Sääntö 6: älä lataa kuvia asiakkaista someen.",
    },
    "4": {
        "en": "Rule 4: clients' pictures are not shared; in special cases the people in the picture must "
              "give permission after being told the risks. Pictures of public events may be shared when "
              "there are many others besides clients.",
        "fi": "Sääntö 4: asiakkaiden kuvia ei jaeta; erikoistapauksissa kuvassa olevilta on aina kysyttävä "
              "lupa ja kerrottava riskeistä. Julkisten tapahtumien kuvia voi jakaa, jos kuvassa on "
              "asiakkaiden lisäksi paljon muita.",
    },
}

DECISIONS = {
    "allowed": {"en": "allowed", "fi": "sallittu"},
    "needs_consent": {"en": "needs consent", "fi": "vaatii suostumuksen"},
    "blocked": {"en": "blocked", "fi": "estetty"},
    "error": {"en": "error", "fi": "virhe"},
}

#: register roles (register.ROLES) as people read them
ROLES = {
    "client": {"en": "client", "fi": "asiakas"},
    "staff": {"en": "staff", "fi": "työntekijä"},
    "partner": {"en": "partner", "fi": "yhteistyökumppani"},
    "other": {"en": "other", "fi": "muu"},
}

STATES = {
    "none": {"en": "no consent on file", "fi": "suostumusta ei ole kirjattu"},
    "other_channel": {"en": "consent does not cover {channel}", "fi": "suostumus ei koske kanavaa {channel}"},
    "expired": {"en": "consent expired on {until}", "fi": "suostumus päättyi {until}"},
    "not_yet": {"en": "consent counts only from {start}", "fi": "suostumus on voimassa vasta {start} alkaen"},
    "withdrawn": {"en": "consent withdrawn", "fi": "suostumus on peruttu"},
    "valid": {"en": "consent valid", "fi": "suostumus on voimassa"},
}

#: a person's consent for one channel as the register shows it, in two forms: a phrase that reads alone after
#: the channel's name (`register list`) and a table cell under it (the register page). An ended, withdrawn or
#: future consent reads as in a verdict's reasons (STATES).
CONSENT = {
    "valid": {"en": ("consent, no end date", "yes"), "fi": ("suostumus, ei päättymispäivää", "kyllä")},
    "valid_until": {"en": ("consent until {until}", "until {until}"),
                    "fi": ("suostumus {until} asti", "{until} asti")},
    # a client's consent without the risks recorded as explained does not count (rule 4)
    "no_risks": {"en": ("{consent}; risks not recorded as explained, so it does not count (rule 4)",
                        "risks not explained"),
                 "fi": ("{consent}; riskeistä kertomista ei ole kirjattu, joten se ei ole voimassa (sääntö 4)",
                        "riskejä ei kerrottu")},
    "expired": {"en": (STATES["expired"]["en"], "expired {until}"),
                "fi": (STATES["expired"]["fi"], "päättyi {until}")},
    "withdrawn": {"en": (STATES["withdrawn"]["en"], "withdrawn"), "fi": (STATES["withdrawn"]["fi"], "peruttu")},
    "not_yet": {"en": (STATES["not_yet"]["en"], "valid only from {start}"),
                "fi": (STATES["not_yet"]["fi"], "voimassa vasta {start} alkaen")},
    "none": {"en": ("no consent", "-"), "fi": ("ei suostumusta", "-")},
}

# A text is a template, or for a count a dict: "plural" names the count's parameter, the other keys are
# CLDR plural categories (fi and en: one, other) or exact numbers ("=0"); see `fill`.
TEXTS: dict[str, dict[str, Any]] = {
    "client_blocked": {
        "en": "{faces}: {name} is registered as a client ({detail}). Do not publish.",
        "fi": "{faces}: {name} on rekisterissä asiakkaana ({detail}). Älä julkaise.",
    },
    "client_no_risks": {
        "en": "risks not recorded as explained", "fi": "riskeistä kertomista ei ole kirjattu",
    },
    "possible_client": {
        "en": "{faces}: may be the client {name} (distance {distance:.2f}); treated as the client. Do not publish.",
        "fi": "{faces}: voi olla asiakas {name} (etäisyys {distance:.2f}); käsitellään asiakkaana. Älä julkaise.",
    },
    "client_consented": {
        "en": "{faces}: client {name} has consented to {channel} with the risks explained (evidence: {evidence}).",
        "fi": "{faces}: asiakas {name} on antanut suostumuksen kanavalle {channel}, ja hänelle on kerrottu "
              "riskeistä (viite: {evidence}).",
    },
    "no_consent": {
        "en": "{faces}: {name} ({role}) is identifiable: {detail}. Ask for consent and explain the risks.",
        "fi": "{faces}: {name} ({role}) on tunnistettavissa: {detail}. Pyydä suostumus ja kerro riskeistä.",
    },
    "unknown": {
        "en": {"plural": "faces",
               "one": "{faces}: identifiable person not in the consent register. Ask for consent and explain "
                      "the risks.",
               "other": "{faces}: identifiable people not in the consent register. Ask them for consent and "
                        "explain the risks."},
        "fi": {"plural": "faces",
               "one": "{faces}: tunnistettava henkilö, jota ei ole suostumusrekisterissä. Pyydä suostumus ja "
                      "kerro riskeistä.",
               "other": "{faces}: tunnistettavia henkilöitä, joita ei ole suostumusrekisterissä. Pyydä heiltä "
                        "suostumus ja kerro riskeistä."},
    },
    "uncertain": {
        "en": "{faces}: identifiable, but the match to {name} is not certain (distance {distance:.2f}). Ask for consent.",
        "fi": "{faces}: tunnistettavissa, mutta ei ole varmaa, onko kyseessä {name} (etäisyys {distance:.2f}). "
              "Pyydä suostumus.",
    },
    "confirm": {
        "en": "{faces}: may be {name} ({role}, distance {distance:.2f}), who has consent for {channel}, but the match "
              "is not certain: confirm it is {name} before publishing; if it is someone else, ask them for consent.",
        "fi": "{faces}: voi olla {name} ({role}, etäisyys {distance:.2f}), jolla on suostumus kanavalle {channel}, "
              "mutta tunnistus ei ole varma: varmista ennen julkaisua, että kuvassa on {name}; jos kuvassa on joku "
              "muu, pyydä häneltä suostumus.",
    },
    "confirm_many": {
        "en": "{faces}: may be {names}, who all have consent for {channel}, but the match is not certain: confirm "
              "who it is before publishing; if it is someone else, ask them for consent.",
        "fi": "{faces}: voi olla {names}, joilla kaikilla on suostumus kanavalle {channel}, mutta tunnistus ei ole "
              "varma: varmista ennen julkaisua, kuka kuvassa on; jos kuvassa on joku muu, pyydä häneltä suostumus.",
    },
    "unmatchable": {
        # `kasvot` is plural in Finnish whether one face or several: the adjectives agree in the plural
        "en": "{faces}: identifiable but too small or blurred to match against the register. Ask for consent.",
        "fi": "{faces}: tunnistettavat, mutta liian pienet tai epätarkat rekisteriin verrattaviksi. "
              "Pyydä suostumus.",
    },
    "consented": {
        "en": "{faces}: {name} ({role}) has consent for {channel}.",
        "fi": "{faces}: {name} ({role}) on antanut suostumuksen kanavalle {channel}.",
    },
    "crowd": {
        "en": {"plural": "clients",
               "=0": "Public event crowd (event: public): {n} people, no clients among them.",
               "one": "Public event crowd (event: public): {n} people, one client among them, not prominent.",
               "other": "Public event crowd (event: public): {n} people, {clients} clients among them, none "
                        "prominent."},
        "fi": {"plural": "clients",
               "=0": "Julkisen tapahtuman väkijoukko (tilaisuus: julkinen): {n} henkilöä, joukossa ei asiakkaita.",
               "one": "Julkisen tapahtuman väkijoukko (tilaisuus: julkinen): {n} henkilöä, joista yksi on asiakas; "
                      "hän ei erotu joukosta.",
               "other": "Julkisen tapahtuman väkijoukko (tilaisuus: julkinen): {n} henkilöä, joista asiakkaita on "
                        "{clients}; yksikään heistä ei erotu joukosta."},
    },
    "crowd_unknown_event": {
        "en": "A crowd of {n} people, at an event not stated to be public (event: unknown): people nobody "
              "recognised need no consent; recognised people are judged on their own.",
        "fi": "{n} henkilön väkijoukko tilaisuudessa, jota ei ole ilmoitettu julkiseksi (tilaisuus: ei tiedossa): "
              "tunnistamattomat eivät tarvitse suostumusta; tunnistetut arvioidaan kukin erikseen.",
    },
    "crowd_private": {
        "en": "Private event (event: private): the crowd exception does not apply; everyone identifiable is "
              "judged on their own.",
        "fi": "Yksityinen tilaisuus (tilaisuus: yksityinen): väkijoukkopoikkeus ei koske kuvaa; jokainen "
              "tunnistettava arvioidaan erikseen.",
    },
    "client_in_crowd": {
        "en": "{faces}: may be the client {name}, in a crowd. The crowd exception covers clients at public events "
              "only: if the photo is from a public event such as a seminar, check it again stating "
              "so (--event public); otherwise ask for consent and explain the risks.",
        "fi": "{faces}: voi olla asiakas {name} väkijoukossa. Väkijoukkopoikkeus koskee asiakkaita vain "
              "julkisissa tapahtumissa: jos kuva on julkisesta tapahtumasta, kuten seminaarista, "
              "tarkista se uudelleen ja kerro se (--event public); muuten pyydä suostumus ja kerro riskeistä.",
    },
    "crowd_prominent": {
        "en": "{faces}: prominent in the crowd (among its largest faces); the crowd exception does not cover them.",
        "fi": "{faces}: erottuvat väkijoukosta (kuvan suurimpia kasvoja); väkijoukkopoikkeus ei koske niitä.",
    },
    "crowd_few_recognisable": {
        "en": "{faces}: a client among only {k} recognisable people; the crowd exception needs many others "
              "who can be recognised as well.",
        "fi": "{faces}: asiakas vain {k} tunnistettavan henkilön joukossa; väkijoukkopoikkeus edellyttää, että "
              "kuvassa on paljon muitakin tunnistettavia ihmisiä.",
    },
    "crowd_no_register": {
        "en": "The crowd exception is not applied: the consent register is empty or was not found, so a client "
              "in the crowd could not be recognised.",
        "fi": "Väkijoukkopoikkeusta ei sovelleta: suostumusrekisteri on tyhjä tai sitä ei löytynyt, joten "
              "väkijoukossa olevaa asiakasta ei voitaisi tunnistaa.",
    },
    "crowd_many_clients": {
        "en": "The crowd exception does not apply: {clients} of {n} people are clients, more than a few.",
        "fi": "Väkijoukkopoikkeus ei koske kuvaa: {n} henkilöstä asiakkaita on {clients}, liian moni.",
    },
    "crowd_unchecked": {
        "en": "The crowd exception does not apply: {unchecked} of {n} people are too small or blurred to compare "
              "with the register and may be clients ({clients} recognised as clients), more than a few.",
        "fi": "Väkijoukkopoikkeus ei koske kuvaa: {n} henkilöstä {unchecked} on liian pieniä tai epätarkkoja "
              "rekisteriin verrattaviksi ja voi olla asiakkaita (asiakkaiksi tunnistettuja {clients}), liian moni.",
    },
    "no_faces": {
        "en": "No faces found.", "fi": "Kasvoja ei löytynyt.",
    },
    "not_identifiable": {
        "en": {"plural": "n",
               "one": "One face, not identifiable at the publish size ({px} px high or more needed).",
               "other": "{n} faces, none identifiable at the publish size ({px} px high or more needed)."},
        "fi": {"plural": "n",
               "one": "Yhdet kasvot, jotka eivät ole tunnistettavat julkaisukoossa (tunnistettavuus vaatii "
                      "vähintään {px} px korkeuden).",
               "other": "{n} kasvot, joista yksikään ei ole tunnistettava julkaisukoossa (tunnistettavuus vaatii "
                        "vähintään {px} px korkeuden)."},
    },
    "all_consented": {
        "en": "Everyone identifiable has consent for {channel}.",
        "fi": "Kaikki tunnistettavat ovat antaneet suostumuksen kanavalle {channel}.",
    },
    "frames_unchecked": {
        "en": "The file holds {frames} frames/pages; only the first was checked. Check the others by hand or export them as separate photos.",
        "fi": "Tiedostossa on {frames} kuvaa tai sivua; vain ensimmäinen tarkistettiin. Tarkista muut itse tai "
              "tallenna ne erillisiksi kuviksi.",
    },
    "error": {
        "en": "Could not be checked: {message}", "fi": "Kuvaa ei voitu tarkistaa: {message}",
    },
    "metadata_gps": {
        "en": "The file carries a GPS position (where the photo was taken); a location can reveal where a client "
              "lives. Publish a copy without metadata (imagegate redact writes one).",
        "fi": "Tiedostossa on GPS-sijainti (kuvauspaikka); sijainti voi paljastaa, missä asiakas asuu. "
              "Julkaise kopio ilman metatietoja (imagegate redact tekee sellaisen).",
    },
    "metadata_people": {
        "en": "The file carries people tags ({tags}): names or face regions in its metadata. "
              "Publish a copy without metadata (imagegate redact writes one).",
        "fi": "Tiedoston metatiedoissa on merkittyjä henkilöitä ({tags}): nimiä tai kasvojen alueita. "
              "Julkaise kopio ilman metatietoja (imagegate redact tekee sellaisen).",
    },
    "rendering_checked": {
        "en": "The photo looks different {what}; that version was checked too: {decision}.",
        "fi": "Kuva näyttää erilaiselta {what}; myös se tarkistettiin: {decision}.",
    },
    "embedded_checked": {
        "en": "The file also carries {what}, which differs from the photo; it was checked too: {decision}. "
              "Publish a copy without metadata (imagegate redact writes one).",
        "fi": "Tiedostossa on myös {what}, joka poikkeaa kuvasta; se tarkistettiin: {decision}. "
              "Julkaise kopio ilman metatietoja (imagegate redact tekee sellaisen).",
    },
    "profile_unapplied": {
        "en": "The file's colour profile could not be applied, so what colour-managed viewers show was not "
              "checked. Convert the photo to sRGB and check it again.",
        "fi": "Tiedoston väriprofiilia ei voitu käyttää, joten värinhallintaa käyttävien ohjelmien näyttämää "
              "kuvaa ei tarkistettu. Muunna kuva sRGB-muotoon ja tarkista se uudelleen.",
    },
    "embedded_over_cap": {
        "en": "The file carries {count} embedded pictures (thumbnails, previews); only the first {cap} were "
              "checked. Publish a copy without metadata (imagegate redact writes one).",
        "fi": "Tiedostossa on {count} upotettua kuvaa (pienoiskuvia, esikatselukuvia); vain ensimmäiset {cap} "
              "tarkistettiin. Julkaise kopio ilman metatietoja (imagegate redact tekee sellaisen).",
    },
    "embedded_unreadable": {
        "en": "An embedded picture (a thumbnail or preview) could not be decoded, so it was not checked. "
              "Publish a copy without metadata (imagegate redact writes one).",
        "fi": "Upotettua kuvaa (pienoiskuvaa tai esikatselukuvaa) ei voitu purkaa, joten sitä ei tarkistettu. "
              "Julkaise kopio ilman metatietoja (imagegate redact tekee sellaisen).",
    },
    "bmp_decoders_differ": {
        "en": "Programs decode this run-length coded BMP file differently; only the picture browsers show was "
              "checked. Save the photo as PNG or JPEG and check it again.",
        "fi": "Ohjelmat purkavat tämän RLE-pakatun BMP-tiedoston eri tavoin; vain selainten näyttämä kuva "
              "tarkistettiin. Tallenna kuva PNG- tai JPEG-muotoon ja tarkista se uudelleen.",
    },
}

#: other renderings of a photo and pictures embedded in its file (imagegate/views.py): as a phrase
#: ("looks different {what}", "carries {what}") and as a title before that picture's own reasons
VIEWS = {
    "on_black": {"en": ("over a black background (dark mode)", "Over black"),
                 "fi": ("mustalla taustalla (tumma tila)", "Mustalla taustalla")},
    "alpha_ignored": {"en": ("with its transparency ignored", "Transparency ignored"),
                      "fi": ("läpinäkyvyys ohitettuna", "Läpinäkyvyys ohitettuna")},
    "colour_managed": {"en": ("with its colour profile applied", "Colour profile applied"),
                       "fi": ("väriprofiilin mukaan näytettynä", "Väriprofiilin mukaan")},
    "exif_thumbnail": {"en": ("an EXIF thumbnail", "EXIF thumbnail"),
                       "fi": ("EXIF-pienoiskuva", "EXIF-pienoiskuva")},
    "mpf_image": {"en": ("embedded image {n} (MPF)", "Embedded image {n}"),
                  "fi": ("upotettu kuva {n} (MPF)", "Upotettu kuva {n}")},
    "xmp_image": {"en": ("picture {n} encoded in its XMP metadata", "XMP picture {n}"),
                  "fi": ("XMP-metatietoihin koodattu kuva {n}", "XMP-kuva {n}")},
    "heif_thumbnail": {"en": ("HEIF thumbnail {n}", "HEIF thumbnail {n}"),
                       "fi": ("HEIF-pienoiskuva {n}", "HEIF-pienoiskuva {n}")},
}


def view_text(kind: str, lang: str, *, n: int = 0, title: bool = False) -> str:
    return VIEWS[kind][check_lang(lang)][1 if title else 0].format(n=n)


FACE_WORD = {"en": ("face", "faces"), "fi": ("kasvot", "kasvot")}


def default_lang() -> str:
    for var in ("IMAGEGATE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "fi" if value.lower().startswith("fi") else "en"
    try:
        loc = locale.getlocale()[0] or ""
    except ValueError:
        loc = ""
    return "fi" if loc.lower().startswith("fi") else "en"


def check_lang(lang: str | None) -> str:
    if lang is None:
        return default_lang()
    lang = lang.lower()
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}")
    return lang


class Counted(str):
    """A label that also says how many things it names ("Faces #1, #3" names 2), so a text about
    them can take the right plural form."""

    n: int

    def __new__(cls, text: str, count: int) -> Counted:
        obj = super().__new__(cls, text)
        obj.n = count
        return obj


def faces_label(indices, lang: str) -> Counted:
    one, many = FACE_WORD[lang]
    nums = ", ".join(f"#{i + 1}" for i in indices)
    word = one if len(indices) == 1 else many
    return Counted(f"{word.capitalize()} {nums}", len(indices))


@functools.cache
def _locale(lang: str):
    from babel import Locale

    return Locale.parse(lang)


def plural_category(n: int, lang: str) -> str:
    """CLDR's plural category of `n` in `lang` (Babel's rules): fi and en have `one` (1) and `other`."""
    return _locale(lang).plural_form(n)


def number(value: int | float, lang: str, decimals: int | None = None) -> str:
    """`value` written as `lang` writes numbers: fi 120 000 000 (no-break spaces) and 0,45; en 120,000,000."""
    from babel.numbers import format_decimal

    if decimals is not None:
        return format_decimal(value, format="#,##0." + "0" * decimals, locale=lang)
    return format_decimal(value, locale=lang)


def _form(template, lang: str, params: dict) -> str:
    """The plural form of `template` that fits its count parameter (an exact `=N` first, then CLDR's category)."""
    if not isinstance(template, dict):
        return template
    n = params[template["plural"]]
    n = n.n if isinstance(n, Counted) else n
    return template.get(f"={n}") or template.get(plural_category(n, lang)) or template["other"]


def fill(template, lang: str, **params) -> str:
    """`template` (or its plural form) with `params`; numbers written in `lang`'s way (`.Nf`: N decimals).
    An integer with a spec such as `{width:d}` is written as it is: sizes in pixels are not grouped."""
    out = []
    for literal, field, spec, _ in string.Formatter().parse(_form(template, lang, params)):
        out.append(literal)
        if field is None:
            continue
        value = params[field]
        spec = spec or ""
        if isinstance(value, int) and spec:
            out.append(format(value, spec))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            decimals = int(spec[1:-1]) if spec.startswith(".") and spec.endswith("f") else None
            out.append(number(value, lang, decimals))
        else:
            out.append(format(value, spec))
    return "".join(out)


OR_WORD = {"en": "or", "fi": "tai"}


def join_or(items: list[str], lang: str) -> str:
    """`a, b or c` / `a, b tai c`."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {OR_WORD[lang]} {items[-1]}"


def render(code: str, lang: str, **params) -> str:
    return fill(TEXTS[code][lang], lang, **params)


def state_text(state: str, lang: str, **params) -> str:
    return fill(STATES[state][lang], lang, **params)


def decision_text(decision: str, lang: str) -> str:
    return DECISIONS[decision][lang]


def role_text(role: str, lang: str) -> str:
    """A register role (client, staff, partner, other) as people read it: on the page, the command line and
    in a verdict's reasons alike."""
    return ROLES[role][lang] if role in ROLES else role


class ConsentCell(NamedTuple):
    #: the consent's state (codes.ConsentState; `other_channel` is `none`), or `no_risks` for a client's valid
    #: consent that does not count because the risks were not recorded as explained
    state: str
    text: str


def consent_cell(status: Mapping, role: str, lang: str, *, brief: bool = False) -> ConsentCell:
    """A person's consent for one channel in words: `status` is that channel's entry of Register.summary()
    (state, valid_from, valid_until, risks_explained), `role` the person's. `brief`: a table cell under the
    channel's name (the register page); otherwise a phrase that reads alone after it (`register list`)."""
    form = 1 if brief else 0
    state, until, start = status["state"], status.get("valid_until"), status.get("valid_from")
    if state == ConsentState.VALID:
        consent = fill(CONSENT["valid_until" if until else "valid"][lang][form], lang, until=until)
        if role == Role.CLIENT and not status.get("risks_explained"):
            return ConsentCell("no_risks", fill(CONSENT["no_risks"][lang][form], lang, consent=consent))
        return ConsentCell(ConsentState.VALID, consent)
    if state in (ConsentState.EXPIRED, ConsentState.WITHDRAWN, ConsentState.NOT_YET):
        return ConsentCell(state, fill(CONSENT[state][lang][form], lang, until=until or "?", start=start or "?"))
    return ConsentCell(ConsentState.NONE, CONSENT["none"][lang][form])


def rule_text(rule: str, lang: str) -> str:
    return RULES[rule][lang]


def counts_text(counts: dict[str, int], lang: str, *, error_key: str = "count_error") -> str:
    """"1 allowed, 2 need consent, 0 blocked, 1 error" with each count in its plural form."""
    keys = ("count_allowed", "count_needs_consent", "count_blocked", error_key)
    values = (counts["allowed"], counts["needs_consent"], counts["blocked"], counts["error"])
    return ", ".join(ui(k, lang, n=v) for k, v in zip(keys, values, strict=False))


# Labels for the redact command and the HTML review sheet (report_html.py).
UI: dict[str, dict[str, Any]] = {
    "redact_copy_of": {"en": {"plural": "n", "one": "copy of {path}, {n} area hidden",
                              "other": "copy of {path}, {n} areas hidden"},
                       "fi": {"plural": "n", "one": "kopio kuvasta {path}, {n} alue piilotettu",
                              "other": "kopio kuvasta {path}, {n} aluetta piilotettu"}},
    "redact_no_copy": {"en": "no copy written of {path}", "fi": "kopiota ei tallennettu kuvasta {path}"},
    "redact_not_saved": {"en": "even with faces hidden the copy is not allowed; check the photo by hand",
                         "fi": "kopio ei ole sallittu, vaikka kasvot on piilotettu; tarkista kuva itse"},
    "redact_original_blocked": {"en": "The original is unchanged and still blocked: do not post it.",
                                "fi": "Alkuperäinen kuva on ennallaan ja yhä estetty: älä julkaise sitä."},
    "redact_original_needs_consent": {
        "en": "The original is unchanged and still needs consent.",
        "fi": "Alkuperäinen kuva on ennallaan ja vaatii yhä suostumuksen."},
    "redact_original_allowed": {"en": "The original is unchanged (it was allowed as well).",
                                "fi": "Alkuperäinen kuva on ennallaan (sekin oli sallittu)."},
    # annotate.py's preview
    "preview_crowd_client": {"en": "client, crowd exception", "fi": "asiakas, väkijoukkopoikkeus"},
    "preview_no_room": {"en": "no room for its number on the photo", "fi": "numerolle ei ollut tilaa kuvassa"},
    "preview_written": {"en": "preview written: {path}", "fi": "esikatselukuva tallennettu: {path}"},
    "report_written": {"en": "review sheet written: {path}", "fi": "tarkistusraportti tallennettu: {path}"},
    "no_photos": {"en": "no photos found in the given paths", "fi": "annetuista poluista ei löytynyt kuvia"},
    "skipped_special": {"en": "{path}: skipped, not a regular file ({kind})",
                        "fi": "{path}: ohitettu, ei tavallinen tiedosto ({kind})"},
    # retention review (imagegate.review), said once a day by `check` and `watch`
    "review_due": {"en": "{n} enrolled person(s) due for review (old enrolment, consents ended or no recorded "
                         "basis): see `imagegate register review`",
                   "fi": "{n} rekisteröityä henkilöä odottaa tarkistusta (vanha rekisteröinti, luvat päättyneet tai "
                         "peruste kirjaamatta): katso `imagegate register review`"},
    "review_overdue": {"en": "enrolled or last reviewed more than {months} months ago",
                       "fi": "rekisteröity tai tarkistettu viimeksi yli {months} kuukautta sitten"},
    "consents_ended": {"en": "every consent has ended", "fi": "kaikki luvat ovat päättyneet"},
    "basis_unrecorded": {"en": "no basis for holding the face template is recorded",
                         "fi": "kasvomallin säilyttämisen perustetta ei ole kirjattu"},
    # the CLI's `check` and `faces`
    "progress_checking": {"en": "checking", "fi": "tarkistetaan"},
    "details_face": {"en": "{height} px (published {publish}) at {x},{y}",
                     "fi": "{height} px (julkaistuna {publish}) kohdassa {x},{y}"},
    "error_line": {"en": "error", "fi": "virhe"},
    "faces_summary": {"en": {"plural": "n", "one": "{n} face, {identifiable} identifiable",
                             "other": "{n} faces, {identifiable} identifiable"},
                      "fi": "kasvoja {n}, tunnistettavia {identifiable}"},
    "yes": {"en": "yes", "fi": "kyllä"},
    # `register list`: a person's templates
    "reference_photos": {"en": {"plural": "n", "one": "{n} reference photo", "other": "{n} reference photos"},
                         "fi": {"plural": "n", "one": "{n} vertailukuva", "other": "{n} vertailukuvaa"}},
    "no": {"en": "no", "fi": "ei"},
    # a batch's summary line: "{photos}: {counts}", each count in its plural form
    "summary": {"en": "{photos}: {counts}", "fi": "{photos}: {counts}"},
    "count_photos": {"en": {"plural": "n", "one": "{n} photo", "other": "{n} photos"},
                     "fi": {"plural": "n", "one": "{n} kuva", "other": "{n} kuvaa"}},
    "count_allowed": {"en": "{n} allowed", "fi": {"plural": "n", "one": "{n} sallittu", "other": "{n} sallittua"}},
    "count_needs_consent": {"en": {"plural": "n", "one": "{n} needs consent", "other": "{n} need consent"},
                            "fi": {"plural": "n", "one": "{n} suostumusta vaativa",
                                   "other": "{n} suostumusta vaativaa"}},
    "count_blocked": {"en": "{n} blocked", "fi": {"plural": "n", "one": "{n} estetty", "other": "{n} estettyä"}},
    "count_error": {"en": {"plural": "n", "one": "{n} error", "other": "{n} errors"},
                    "fi": {"plural": "n", "one": "{n} virhe", "other": "{n} virhettä"}},
    "count_rejected": {"en": "{n} rejected", "fi": {"plural": "n", "one": "{n} hylätty", "other": "{n} hylättyä"}},
    "report_title": {"en": "imagegate review sheet", "fi": "imagegate-tarkistusraportti"},
    "report_photos": {"en": {"plural": "n", "one": "photo", "other": "photos"},
                      "fi": {"plural": "n", "one": "kuva", "other": "kuvaa"}},
    "report_channel": {"en": "Channel", "fi": "Kanava"},
    "report_checked_on": {"en": "consents as of", "fi": "suostumukset päivänä"},
    "report_event": {"en": "Event", "fi": "Tilaisuus"},
    "report_faces": {"en": "Faces", "fi": "Kasvot"},
    "report_no_faces": {"en": "No faces found.", "fi": "Kasvoja ei löytynyt."},
    "report_no_preview": {"en": "no preview", "fi": "ei esikatselukuvaa"},
    "report_col_face": {"en": "#", "fi": "#"},
    "report_col_category": {"en": "meaning", "fi": "merkitys"},
    "report_col_person": {"en": "person", "fi": "henkilö"},
    "report_col_height": {"en": "height px (published)", "fi": "korkeus px (julkaistuna)"},
    "report_col_match": {"en": "match distance", "fi": "etäisyys"},
    "report_col_consent": {"en": "consent", "fi": "suostumus"},
    "report_rule": {"en": "rule", "fi": "sääntö"},
    "report_generated": {"en": "Generated by imagegate {version}. Photos are embedded as previews without metadata.",
                         "fi": "Tehty imagegate {version} -ohjelmalla. Kuvat ovat mukana esikatselukuvina ilman "
                               "metatietoja."},
    # `register export`'s page: what the register holds about one person, for their access request
    "export_title": {"en": "{name}: register export", "fi": "{name}: rekisteriote"},
    "export_heading": {"en": "What the consent register holds about {name}",
                       "fi": "Mitä suostumusrekisteri sisältää henkilöstä {name}"},
    "export_from": {"en": "Exported {at} from {register}.", "fi": "Ote tehty {at} rekisteristä {register}."},
    "export_person": {"en": "Person", "fi": "Henkilö"},
    "export_basis": {"en": "Basis for holding the face template", "fi": "Peruste kasvomallin säilyttämiselle"},
    "export_consents": {"en": "Consents to publish (history)", "fi": "Suostumukset julkaisuun (historia)"},
    "export_templates": {"en": "Face templates", "fi": "Kasvomallit"},
    "export_templates_held": {"en": "{n} template(s), model {models}, created {first} to {last}.",
                              "fi": {"plural": "n",
                                     "one": "{n} kasvomalli (tunnistusmalli {models}), luotu {first} – {last}.",
                                     "other": "{n} kasvomallia (tunnistusmalli {models}), luotu {first} – {last}."}},
    # also the JSON file's own explanation (register.export.person_record), in English
    "export_templates_what": {
        "en": "face templates: 128 numbers per reference photo describing the face (dlib ResNet); the photos "
              "themselves are not stored, only their sha256",
        "fi": "kasvomallit: 128 lukua kutakin vertailukuvaa kohden, jotka kuvaavat kasvoja (dlib ResNet); itse "
              "kuvia ei tallenneta, vain niiden sha256-tiiviste"},
    "export_numbers_included": {"en": "The numbers themselves are in the JSON file.",
                                "fi": "Itse luvut ovat JSON-tiedostossa."},
    "export_numbers_left_out": {"en": "The numbers themselves are not included in this export.",
                                "fi": "Itse lukuja ei ole tässä otteessa."},
    "export_log": {"en": "Changes to the register concerning this person",
                   "fi": "Henkilöä koskevat muutokset rekisteriin"},
    "export_audit": {"en": "Decisions on photos that named this person (audit log)",
                     "fi": "Päätökset kuvista, joissa henkilö mainittiin (tarkastusloki)"},
    "export_none": {"en": "none", "fi": "ei yhtään"},
}


# What a face means for the verdict (policy.FaceStatus.category): preview labels, review sheet, `check --details`.
CATEGORIES: dict[str, dict[str, str]] = {
    "client": {"en": "client", "fi": "asiakas"},
    "needs_consent": {"en": "needs consent", "fi": "vaatii suostumuksen"},
    "consented": {"en": "consent", "fi": "suostumus"},
    "crowd": {"en": "crowd", "fi": "väkijoukko"},
    "not_identifiable": {"en": "not identifiable", "fi": "ei tunnistettavissa"},
}


#: the columns of `imagegate faces`
FACES_COLUMNS = {"en": ("x", "y", "w", "h", "publish h", "score", "identifiable"),
                 "fi": ("x", "y", "lev", "kork", "julk. kork", "pisteet", "tunnistettava")}


#: the event contexts (policy.EVENTS), for the review sheet
EVENTS = {
    "public": {"en": "public (crowd exception applies)", "fi": "julkinen (väkijoukkopoikkeus pätee)"},
    "private": {"en": "private (no crowd exception)", "fi": "yksityinen (ei väkijoukkopoikkeusta)"},
    "unknown": {"en": "not stated (crowd exception for people nobody recognised only)",
                "fi": "ei ilmoitettu (väkijoukkopoikkeus vain tunnistamattomille)"},
}


def event_text(event: str, lang: str) -> str:
    return EVENTS[event][lang]


def category_text(category: str, lang: str) -> str:
    return CATEGORIES[category][lang]


def ui(code: str, lang: str, **params) -> str:
    return fill(UI[code][lang], lang, **params)


# Why a photo could not be checked, by code (`ImageLoadError.coded`). The English text is what the
# library's exceptions say; the CLI, the watcher's reports and the review sheet say it in the user's
# language. Numbers come in as params; `detail` is a library's own (English) explanation.
FORMATS = "JPEG, PNG, WebP, TIFF, BMP, GIF, HEIC"
_ALONE = {"en": "check this photo on its own with --jobs 1; if it fails again, report it",
          "fi": "tarkista kuva yksinään valitsimella --jobs 1; jos tarkistus epäonnistuu taas, ilmoita siitä"}
_HUGE = {"en": "a broken file, or one made to exhaust memory", "fi": "viallinen tiedosto tai tehty kuluttamaan muisti"}
ERRORS: dict[str, dict[str, Any]] = {
    "empty": {"en": "the file is empty (0 bytes)", "fi": "tiedosto on tyhjä (0 tavua)",
              "hint": {"en": "copy the photo again", "fi": "kopioi kuva uudelleen"}},
    "file_too_big": {"en": "the file is {size} bytes, above the limit of {limit}",
                     "fi": "tiedosto on {size} tavua, yli rajan {limit}"},
    "unsupported_format": {"en": f"not a photo in a supported format ({FORMATS})",
                           "fi": f"ei kuva tuetussa muodossa ({FORMATS})",
                           "hint": {"en": "export the photo as JPEG and try again",
                                    "fi": "tallenna kuva JPEG-muodossa ja yritä uudelleen"}},
    "pixel_guard": {"en": f"the image claims far more pixels than any photo, above the limit of {{limit}} "
                          f"({_HUGE['en']})",
                    "fi": f"kuva väittää sisältävänsä paljon enemmän pikseleitä kuin yksikään valokuva, yli rajan "
                          f"{{limit}} ({_HUGE['fi']})"},
    "bomb": {"en": f"the image would unpack to far more pixels than its file suggests ({_HUGE['en']})",
             "fi": f"kuva purkautuisi paljon suuremmaksi kuin tiedosto antaa olettaa ({_HUGE['fi']})"},
    "corrupt": {"en": "the file is corrupt or unreadable: {detail}",
                "fi": "tiedosto on vioittunut tai sitä ei voi lukea: {detail}"},
    "truncated": {"en": "the file is truncated (incomplete download or copy)",
                  "fi": "tiedosto on katkennut (lataus tai kopiointi jäi kesken)",
                  "hint": {"en": "copy the photo again from its original",
                           "fi": "kopioi kuva uudelleen alkuperäisestä"}},
    "no_memory": {"en": "not enough memory to decode this image", "fi": "muisti ei riitä tämän kuvan avaamiseen"},
    "no_pixels": {"en": "the image has no pixels ({width:d} x {height:d})",
                  "fi": "kuvassa ei ole yhtään pikseliä ({width:d} x {height:d})"},
    "too_many_pixels": {"en": "the image claims {width:d} x {height:d} = {pixels} pixels, above the limit of {limit}",
                        "fi": "kuva väittää olevansa {width:d} x {height:d} = {pixels} pikseliä, yli rajan {limit}",
                        "hint": {"en": "resize the photo or raise the max_pixels setting",
                                 "fi": "pienennä kuvaa tai nosta max_pixels-asetusta"}},
    "folder": {"en": "this is a folder, not a photo", "fi": "tämä on kansio, ei kuva"},
    "not_regular": {"en": "expected a photo file, found a {kind}; only regular files are read",
                    "fi": "odotettiin kuvatiedostoa, löytyi erikoistiedosto ({kind}); vain tavallisia tiedostoja luetaan"},
    "missing": {"en": "no such file", "fi": "tiedostoa ei löydy",
                "hint": {"en": "check the path", "fi": "tarkista polku"}},
    "missing_path": {"en": "no such file or folder", "fi": "tiedostoa tai kansiota ei löydy"},
    "empty_folder": {"en": f"this folder holds no photos ({FORMATS})", "fi": f"kansiossa ei ole kuvia ({FORMATS})"},
    "folder_unreadable": {"en": "cannot read folder: {detail}", "fi": "kansiota ei voi lukea: {detail}"},
    "permission": {"en": "permission denied while reading the file",
                   "fi": "tiedostoa ei saa lukea (käyttöoikeudet puuttuvat)",
                   "hint": {"en": "check the file's permissions", "fi": "tarkista tiedoston käyttöoikeudet"}},
    "unreadable": {"en": "the file could not be read: {detail}", "fi": "tiedostoa ei voitu lukea: {detail}"},
    "unsortable": {"en": "it could not be sorted into {folder}/ ({detail}), so it is rejected under a name the "
                         "output folder takes",
                   "fi": "kuvaa ei voitu lajitella kansioon {folder}/ ({detail}), joten se hylättiin nimellä, jonka "
                         "tulostekansio hyväksyy",
                   "hint": {"en": "its report names the original file; rename it and put it in the inbox again",
                            "fi": "raportissa on alkuperäisen tiedoston nimi; nimeä kuva uudelleen ja laita se "
                                  "takaisin saapuvien kansioon"}},
    "symlink": {"en": "expected a photo file, found a symbolic link",
                "fi": "odotettiin kuvatiedostoa, löytyi symbolinen linkki (pikakuvake)",
                "hint": {"en": "copy the photo itself into the inbox", "fi": "kopioi itse kuva saapuvien kansioon"}},
    "too_many_faces": {"en": "{faces} faces found, above the limit of {limit}; refusing to judge it automatically",
                       "fi": "kasvoja löytyi {faces}, yli rajan {limit}; kuvaa ei arvioida automaattisesti",
                       "hint": {"en": "raise max_faces or check this photo by hand",
                                "fi": "nosta max_faces-asetusta tai tarkista kuva itse"}},
    "worker_stopped": {"en": "this photo stopped the worker process checking it twice (the checking process died "
                             "{deaths} times on it: {detail})",
                       "fi": "tämän kuvan tarkistus kaatui kahdesti (tarkistava prosessi kuoli {deaths} kertaa: "
                             "{detail})",
                       "hint": _ALONE},
    "worker_timeout": {"en": "this photo was still being checked after {seconds} s, twice ({timeouts} of {deaths} "
                             "tries still running after the {seconds} s limit)",
                       "fi": "kuvan tarkistus oli kahdesti yhä kesken {seconds} sekunnin jälkeen ({timeouts}/{deaths} "
                             "yritystä yhä kesken {seconds} sekunnin rajan jälkeen)",
                       "hint": _ALONE},
    # An exception nobody expected: only its type is said (its text could carry personal data).
    "internal_checking": {"en": "internal error ({type}) while checking; details are not shown because they "
                                "could contain personal data",
                          "fi": "sisäinen virhe ({type}) tarkistuksessa; yksityiskohtia ei näytetä, koska ne "
                                "voivat sisältää henkilötietoja"},
    "internal_redacting": {"en": "internal error ({type}) while redacting; details are not shown because they "
                                 "could contain personal data",
                           "fi": "sisäinen virhe ({type}) kasvojen peittämisessä; yksityiskohtia ei näytetä, koska "
                                 "ne voivat sisältää henkilötietoja"},
    "internal_command": {"en": "internal error ({type}) while running the command; details are not shown because "
                               "they could contain personal data",
                         "fi": "sisäinen virhe ({type}) komentoa suoritettaessa; yksityiskohtia ei näytetä, koska "
                               "ne voivat sisältää henkilötietoja"},
    # A person's name (imagegate.names): two entries must never look alike.
    "name_invisible": {"en": "the name '{name}' contains invisible or formatting characters ({chars})",
                       "fi": "nimessä '{name}' on näkymättömiä tai muotoilumerkkejä ({chars})",
                       "hint": {"en": "type the name again by hand instead of pasting it",
                                "fi": "kirjoita nimi uudelleen käsin liittämisen sijaan"}},
    "name_mixed_scripts": {"en": "the name '{name}' mixes alphabets in one word ('{word}': {scripts})",
                           "fi": "nimessä '{name}' on saman sanan sisällä eri aakkostoja ('{word}': {scripts})",
                           "hint": {"en": "type the name again by hand in one alphabet",
                                    "fi": "kirjoita nimi uudelleen käsin yhdellä aakkostolla"}},
    "name_confusable": {"en": "the name '{name}' looks the same as '{other}', who is already registered",
                        "fi": "nimi '{name}' näyttää samalta kuin jo rekisterissä oleva '{other}'",
                        "hint": {"en": "if it is the same person, use the existing entry; otherwise tell them "
                                       "apart visibly (e.g. add a middle name or initial)",
                                 "fi": "jos kyseessä on sama henkilö, käytä olemassa olevaa merkintää; muuten erota "
                                       "nimet näkyvästi (esim. lisää toinen nimi tai alkukirjain)"}},
}


def error_parts(code: str, lang: str, params: dict) -> tuple[str, str | None]:
    """The reason and hint of error `code` in `lang`."""
    entry = ERRORS[code]
    hint = entry.get("hint")
    return fill(entry[lang], lang, **params), (fill(hint[lang], lang, **params) if hint else None)


def error_reason(exc: BaseException, lang: str) -> tuple[str, str | None]:
    """What is wrong and what to do, without the file it concerns (for a line that already names it):
    in Finnish where the error has a known code, else as raised."""
    code = getattr(exc, "code", None)
    if lang != "en" and code in ERRORS:
        return error_parts(code, lang, getattr(exc, "params", None) or {})
    return getattr(exc, "reason", getattr(exc, "message", str(exc))), getattr(exc, "hint", None)


def error_text(exc: BaseException, lang: str) -> str:
    """What went wrong, for people: in Finnish where the error has a known code, else as raised."""
    code = getattr(exc, "code", None)
    if lang == "en" or code not in ERRORS:
        return str(exc)
    reason, hint = error_reason(exc, lang)
    source = getattr(exc, "source", None)
    text = f"{source}: {reason}" if source else reason
    return f"{text} ({hint})" if hint else text


# The web page (`imagegate serve`): every string it shows, in both languages. The page's JavaScript gets the
# same table for the chosen language, so no visible word is written in the script itself.
WEB = {
    "title_check": {"en": "imagegate: check photos", "fi": "imagegate: kuvien tarkistus"},
    "title_register": {"en": "imagegate: consent register", "fi": "imagegate: suostumusrekisteri"},
    "nav_check": {"en": "Check photos", "fi": "Tarkista kuvat"},
    "nav_register": {"en": "Consent register", "fi": "Suostumusrekisteri"},
    "switch_lang": {"en": "Suomeksi", "fi": "In English"},
    "private_note": {"en": "Photos are checked on this computer and are not kept after the check.",
                     "fi": "Kuvat tarkistetaan tällä tietokoneella, eikä niitä säilytetä tarkistuksen jälkeen."},
    "drop_here": {"en": "Drop photos or folders here", "fi": "Pudota kuvia tai kansioita tähän"},
    "pick_files": {"en": "Choose photos", "fi": "Valitse kuvia"},
    "pick_folder": {"en": "Choose a folder", "fi": "Valitse kansio"},
    "channel": {"en": "Channel", "fi": "Kanava"},
    "event": {"en": "Where the photo was taken", "fi": "Missä kuva on otettu"},
    "event_public": {"en": "a public event", "fi": "julkinen tapahtuma"},
    "event_private": {"en": "a private occasion", "fi": "yksityinen tilaisuus"},
    "event_unknown": {"en": "not known", "fi": "ei tiedossa"},
    "waiting": {"en": "waiting", "fi": "odottaa"},
    "checking": {"en": "checking…", "fi": "tarkistetaan…"},
    "progress": {"en": "{done} of {total} checked", "fi": "{done}/{total} tarkistettu"},
    "summary_photos": {"en": "photos", "fi": "kuvaa"},
    "download_copy": {"en": "Download publishable copy", "fi": "Lataa julkaistava kopio"},
    "making_copy": {"en": "making the copy…", "fi": "kopiota tehdään…"},
    "copy_failed": {"en": "No copy: {message}", "fi": "Ei kopiota: {message}"},
    "download_sheet": {"en": "Download review sheet", "fi": "Lataa tarkistusraportti"},
    "clear": {"en": "Clear the list", "fi": "Tyhjennä lista"},
    "failed": {"en": "The check failed: {message}", "fi": "Tarkistus epäonnistui: {message}"},
    "busy": {"en": "imagegate is busy with many photos; this one was not checked, drop it again shortly",
             "fi": "imagegate tarkistaa nyt monta kuvaa; tätä ei tarkistettu, pudota se hetken päästä uudelleen"},
    "no_connection": {"en": "no answer from imagegate (is `imagegate serve` still running?)",
                      "fi": "imagegate ei vastaa (onko `imagegate serve` yhä käynnissä?)"},
    # why the server refused a request (web.guard.Guard)
    "refused_host": {"en": "refused: the Host header is not this server's own name (a page that renamed it is "
                           "refused)",
                     "fi": "torjuttu: Host-otsake ei ole tämän palvelimen oma nimi (sivu, joka on nimennyt sen "
                           "uudelleen, torjutaan)"},
    "refused_origin": {"en": "refused: the request came from another site",
                       "fi": "torjuttu: pyyntö tuli toiselta sivustolta"},
    "refused_token": {"en": "refused: the access token is missing or wrong",
                      "fi": "torjuttu: pääsytunnus puuttuu tai on väärä"},
    "refused_csrf": {"en": "refused: the page's CSRF token is missing or wrong (reload the page)",
                     "fi": "torjuttu: sivun CSRF-tunniste puuttuu tai on väärä (lataa sivu uudelleen)"},
    "refused_length": {"en": "refused: a request body must declare its length (Content-Length)",
                       "fi": "torjuttu: pyynnön on kerrottava sisältönsä pituus (Content-Length)"},
    "refused_too_big": {"en": "the upload is {size} bytes, above the limit of {limit}",
                        "fi": "lähetys on {size} tavua, yli rajan {limit}"},
    "refused_memory": {"en": "imagegate is busy with other uploads; send this one again shortly",
                       "fi": "imagegate käsittelee muita lähetyksiä; lähetä tämä hetken päästä uudelleen"},
    "reg_people": {"en": "People in the register", "fi": "Rekisterissä olevat henkilöt"},
    "reg_file": {"en": "Register file", "fi": "Rekisteritiedosto"},
    "reg_empty": {"en": "Nobody is enrolled yet.", "fi": "Rekisterissä ei ole vielä ketään."},
    "col_name": {"en": "name", "fi": "nimi"},
    "col_role": {"en": "role", "fi": "rooli"},
    "col_photos": {"en": "reference photos", "fi": "vertailukuvia"},
    "enrol_title": {"en": "Enrol a person", "fi": "Lisää henkilö"},
    "name": {"en": "Name", "fi": "Nimi"},
    "role": {"en": "Role", "fi": "Rooli"},
    "note": {"en": "Note (optional)", "fi": "Huomautus (valinnainen)"},
    "enrol_photos": {"en": "Reference photos: one clear, frontal face each. Only face templates are stored, "
                           "never the photos.",
                     "fi": "Vertailukuvat: kussakin yhdet selkeät kasvot edestä. Vain kasvomallit tallennetaan, "
                           "ei kuvia."},
    "basis": {"en": "Why the face template may be held", "fi": "Peruste kasvomallin säilyttämiselle"},
    "basis_none": {"en": "not recorded yet", "fi": "ei vielä kirjattu"},
    "basis_consent": {"en": "the person agreed to be enrolled", "fi": "henkilö suostui rekisteröintiin"},
    "basis_other": {"en": "another documented basis", "fi": "muu kirjattu peruste"},
    "basis_evidence": {"en": "Document recording the basis", "fi": "Perusteen kirjaava asiakirja"},
    "basis_date": {"en": "Date of the basis (optional)", "fi": "Perusteen päivämäärä (valinnainen)"},
    "basis_needs_evidence": {"en": "The basis needs the document that records it.",
                             "fi": "Peruste tarvitsee asiakirjan, johon se on kirjattu."},
    "basis_missing": {"en": "No basis for holding the face template is recorded yet.",
                      "fi": "Kasvomallin säilyttämisen perustetta ei ole vielä kirjattu."},
    "enrol_button": {"en": "Enrol", "fi": "Lisää"},
    "enrolled": {"en": "Enrolled {name} ({role}) from {n} photo(s); no consent recorded yet.",
                 "fi": "{name} ({role}) lisätty {n} kuvasta; suostumusta ei ole vielä kirjattu."},
    "consent_title": {"en": "Record consent", "fi": "Kirjaa suostumus"},
    "person": {"en": "Person", "fi": "Henkilö"},
    "channels": {"en": "Channels", "fi": "Kanavat"},
    "until": {"en": "Last valid day (optional)", "fi": "Viimeinen voimassaolopäivä (valinnainen)"},
    "risks": {"en": "The risks of publishing were explained (rule 4; needed for a client's consent to count)",
              "fi": "Julkaisemisen riskit kerrottiin (sääntö 4; asiakkaan suostumus on voimassa vain silloin)"},
    "evidence": {"en": "Evidence, e.g. the signed form's number", "fi": "Näyttö, esim. allekirjoitetun lomakkeen numero"},
    "consent_button": {"en": "Record consent", "fi": "Kirjaa suostumus"},
    "consent_recorded": {"en": "Consent recorded for {name}: {channels}.", "fi": "Suostumus kirjattu: {name}: {channels}."},
    "consent_past": {"en": "The last valid day is in the past: the consent is recorded as already expired and "
                           "allows nothing.",
                     "fi": "Viimeinen voimassaolopäivä on mennyt: suostumus kirjataan jo päättyneeksi, eikä se salli mitään."},
    "consent_client_risks": {"en": "A client's consent counts only when the risks were explained (rule 4).",
                             "fi": "Asiakkaan suostumus on voimassa vain, kun riskit on kerrottu (sääntö 4)."},
    "withdraw_title": {"en": "Withdraw consent", "fi": "Peru suostumus"},
    "withdraw_help": {"en": "No channel chosen: every channel. The history is kept.",
                      "fi": "Jos kanavaa ei valita: kaikki kanavat. Historia säilyy."},
    "withdraw_button": {"en": "Withdraw", "fi": "Peru"},
    "withdrew": {"en": "Withdrew {n} active consent(s) of {name}.",
                 "fi": "Henkilöltä {name} peruttiin {n} voimassa ollutta suostumusta."},
    "forget_title": {"en": "Forget a person", "fi": "Poista henkilö"},
    "forget_help": {"en": "Erases the person's face templates, consents and history from the register. This cannot "
                          "be undone. Type the name exactly to confirm.",
                    "fi": "Poistaa henkilön kasvomallit, suostumukset ja historian rekisteristä. Tätä ei voi perua. "
                          "Vahvista kirjoittamalla nimi täsmälleen."},
    "forget_confirm": {"en": "Type the name to confirm", "fi": "Kirjoita nimi vahvistukseksi"},
    "forget_button": {"en": "Forget", "fi": "Poista"},
    "forgot": {"en": "Erased {name}.", "fi": "{name} poistettu."},
    "forget_mismatch": {"en": "The typed name does not match {name}; nothing was erased.",
                        "fi": "Kirjoitettu nimi ei vastaa nimeä {name}; mitään ei poistettu."},
    "choose": {"en": "choose…", "fi": "valitse…"},
    "refused_host_title": {"en": "imagegate: open the page at its own address",
                           "fi": "imagegate: avaa sivu sen omassa osoitteessa"},
    "refused_host_page": {"en": "This page does not answer at {address}: for your safety it answers only at its "
                                "own addresses. Open one of these:",
                          "fi": "Sivu ei vastaa osoitteessa {address}: turvallisuussyistä se vastaa vain omissa "
                                "osoitteissaan. Avaa jokin näistä:"},
    "login_title": {"en": "imagegate: access token", "fi": "imagegate: pääsytunnus"},
    "login_help": {"en": "This page can be reached from other computers. Enter the access token that "
                         "`imagegate serve` printed when it started.",
                   "fi": "Tälle sivulle pääsee muilta tietokoneilta. Anna pääsytunnus, jonka `imagegate serve` "
                         "tulosti käynnistyessään."},
    "login_field": {"en": "Access token", "fi": "Pääsytunnus"},
    "login_button": {"en": "Open", "fi": "Avaa"},
    "login_wrong": {"en": "That is not the access token.", "fi": "Pääsytunnus on väärä."},
}


def web(code: str, lang: str, **params) -> str:
    return WEB[code][lang].format(**params)
