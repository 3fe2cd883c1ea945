"""Finnish and English texts for verdicts and reasons.

The users are Finnish communications staff, so every reason exists in both
languages and quotes the rule it applies. The language defaults to the locale
(fi for a Finnish locale, en otherwise) and can be forced with `--lang`.
"""

from __future__ import annotations

import locale
import os

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
    "needs_consent": {"en": "needs consent", "fi": "vaatii luvan"},
    "blocked": {"en": "blocked", "fi": "estetty"},
    "error": {"en": "error", "fi": "virhe"},
}

STATES = {
    "none": {"en": "no consent on file", "fi": "lupaa ei ole kirjattu"},
    "other_channel": {"en": "consent does not cover {channel}", "fi": "lupa ei kata kanavaa {channel}"},
    "expired": {"en": "consent expired on {until}", "fi": "lupa päättyi {until}"},
    "withdrawn": {"en": "consent withdrawn", "fi": "lupa on peruttu"},
    "valid": {"en": "consent valid", "fi": "lupa voimassa"},
}

TEXTS = {
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
        "fi": "{faces}: asiakas {name} on antanut luvan kanavalle {channel} riskeistä kerrottuaan (näyttö: {evidence}).",
    },
    "no_consent": {
        "en": "{faces}: {name} ({role}) is identifiable: {detail}. Ask for consent and explain the risks.",
        "fi": "{faces}: {name} ({role}) on tunnistettavissa: {detail}. Pyydä lupa ja kerro riskeistä.",
    },
    "unknown": {
        "en": "{faces}: identifiable person not in the consent register. Ask for consent and explain the risks.",
        "fi": "{faces}: tunnistettava henkilö, jota ei ole lupa­rekisterissä. Pyydä lupa ja kerro riskeistä.",
    },
    "uncertain": {
        "en": "{faces}: identifiable, but the match to {name} is not certain (distance {distance:.2f}). Ask for consent.",
        "fi": "{faces}: tunnistettavissa, mutta vastaavuus henkilöön {name} ei ole varma (etäisyys {distance:.2f}). Pyydä lupa.",
    },
    "unmatchable": {
        "en": "{faces}: identifiable but too small or blurred to match against the register. Ask for consent.",
        "fi": "{faces}: tunnistettavissa, mutta liian pieni tai epätarkka rekisteriin vertaamiseen. Pyydä lupa.",
    },
    "consented": {
        "en": "{faces}: {name} ({role}) has consent for {channel}.",
        "fi": "{faces}: henkilöllä {name} ({role}) on lupa kanavalle {channel}.",
    },
    "crowd": {
        "en": "Public event crowd: {n} people, {clients} client(s) among them, no client prominent.",
        "fi": "Julkisen tapahtuman väkijoukko: {n} henkilöä, joista asiakkaita {clients}; yksikään asiakas ei erotu joukosta.",
    },
    "crowd_prominent": {
        "en": "{faces}: prominent in the crowd (among its largest faces); the crowd exception does not cover them.",
        "fi": "{faces}: erottuu väkijoukosta (kuvan suurimpia kasvoja); väkijoukkopoikkeus ei koske heitä.",
    },
    "crowd_many_clients": {
        "en": "The crowd exception does not apply: {clients} of {n} people are clients, more than a few.",
        "fi": "Väkijoukkopoikkeus ei päde: {n} henkilöstä {clients} on asiakkaita, liian moni.",
    },
    "no_faces": {
        "en": "No faces found.", "fi": "Kasvoja ei löytynyt.",
    },
    "not_identifiable": {
        "en": "{n} face(s), none identifiable at the publish size ({px} px high or more needed).",
        "fi": "{n} kasvot, ei yhtään tunnistettavaa julkaisukoossa (vaaditaan vähintään {px} px korkeus).",
    },
    "all_consented": {
        "en": "Everyone identifiable has consent for {channel}.",
        "fi": "Kaikilla tunnistettavilla on lupa kanavalle {channel}.",
    },
    "frames_unchecked": {
        "en": "The file holds {frames} frames/pages; only the first was checked. Check the others by hand or export them as separate photos.",
        "fi": "Tiedostossa on {frames} kuvaa/sivua; vain ensimmäinen tarkistettiin. Tarkista muut käsin tai vie ne erillisiksi kuviksi.",
    },
    "error": {
        "en": "Could not be checked: {message}", "fi": "Tarkistus epäonnistui: {message}",
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
        "fi": "Tiedostossa on henkilötunnisteita ({tags}): nimiä tai kasvoalueita metatiedoissa. "
              "Julkaise kopio ilman metatietoja (imagegate redact tekee sellaisen).",
    },
}

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


def faces_label(indices, lang: str) -> str:
    one, many = FACE_WORD[lang]
    nums = ", ".join(f"#{i + 1}" for i in indices)
    word = one if len(indices) == 1 else many
    return f"{word.capitalize()} {nums}" if lang == "en" else f"Kasvot {nums}"


def render(code: str, lang: str, **params) -> str:
    template = TEXTS[code][lang]
    return template.format(**params)


def state_text(state: str, lang: str, **params) -> str:
    return STATES[state][lang].format(**params)


def decision_text(decision: str, lang: str) -> str:
    return DECISIONS[decision][lang]


def rule_text(rule: str, lang: str) -> str:
    return RULES[rule][lang]


# Labels for the redact command and the HTML review sheet (report_html.py).
UI = {
    "redact_hidden": {"en": "{n} area(s) hidden; the original was: {before}",
                      "fi": "{n} aluetta piilotettu; alkuperäinen: {before}"},
    "redact_saved": {"en": "copy written: {path}", "fi": "kopio tallennettu: {path}"},
    "redact_not_saved": {"en": "no copy written: even with faces hidden the copy is not allowed; check it by hand",
                         "fi": "kopiota ei tallennettu: kasvot piilotettunakaan kopio ei ole sallittu; "
                               "tarkista kuva käsin"},
    "no_photos": {"en": "no photos found in the given paths", "fi": "annetuista poluista ei löytynyt kuvia"},
    "report_title": {"en": "imagegate review sheet", "fi": "imagegate-tarkistuslista"},
    "report_photos": {"en": "photos", "fi": "kuvaa"},
    "report_channel": {"en": "Channel", "fi": "Kanava"},
    "report_checked_on": {"en": "consents as of", "fi": "luvat päivänä"},
    "report_faces": {"en": "Faces", "fi": "Kasvot"},
    "report_no_faces": {"en": "No faces found.", "fi": "Kasvoja ei löytynyt."},
    "report_no_preview": {"en": "no preview", "fi": "ei esikatselua"},
    "report_col_face": {"en": "#", "fi": "#"},
    "report_col_category": {"en": "meaning", "fi": "merkitys"},
    "report_col_person": {"en": "person", "fi": "henkilö"},
    "report_col_height": {"en": "height px (published)", "fi": "korkeus px (julkaistuna)"},
    "report_col_match": {"en": "match distance", "fi": "etäisyys"},
    "report_col_consent": {"en": "consent", "fi": "lupa"},
    "report_rule": {"en": "rule", "fi": "sääntö"},
    "report_generated": {"en": "Generated by imagegate {version}. Photos are embedded as previews without metadata.",
                         "fi": "Tehty imagegate {version} -ohjelmalla. Kuvat ovat mukana esikatseluina ilman "
                               "metatietoja."},
}


def ui(code: str, lang: str, **params) -> str:
    return UI[code][lang].format(**params)
