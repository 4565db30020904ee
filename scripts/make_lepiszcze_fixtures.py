"""Write tests/fixtures/lepiszcze: small local copies of the 13 LEPISZCZE Hub datasets, in the three layouts a user
meets (see tests/fixtures/lepiszcze/PROVENANCE.md):

* the repository as downloaded, for the six repos that hold CSV files (columns and file names as at the pinned
  commits): ``<owner>/<name>/{train,dev|valid,test}.csv``;
* the Hub's Parquet conversion for the five repos that held loading scripts: ``<owner>/<name>/<config>/<split>/
  0000.parquet``, written by ``datasets`` so the files carry the features (ClassLabel names) in their metadata;
* an export made with ``datasets`` (``save_to_disk``) for the non-public dialogue-acts.

Rows quoted from the dataset descriptions are real; the rest are hand-made Polish rows in the same shape, so every
label of the small tag sets occurs. Run: python scripts/make_lepiszcze_fixtures.py
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import datasets

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "lepiszcze"


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)  # the Hub CSVs: comma-separated, quoted where needed, a header line
        writer.writerow(header)
        writer.writerows(rows)


def write_parquet(folder: Path, config: str, splits: dict[str, dict[str, list]], features: datasets.Features) -> None:
    for split, columns in splits.items():
        target = folder / config / split / "0000.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        datasets.Dataset.from_dict(columns, features=features).to_parquet(str(target))


# --- CSV repositories -------------------------------------------------------------------------------------------

ABUSIVE = "KLAUZULA_ABUZYWNA", "BEZPIECZNE_POSTANOWIENIE_UMOWNE"
ABUSIVE_ROWS = [
    # the dataset description's example (real)
    ["Wszelka korespondencja wysyłana przez Pożyczkodawcę na adres zamieszkania podany w umowie oraz na e-mail zostaje "
     "uznana za skutecznie doręczoną. Zmiana adresu e-mail oraz adresu zamieszkania musi być dostarczona do "
     "Pożyczkodawcy osobiście", ABUSIVE[0]],
    ["Sprzedawca nie ponosi żadnej odpowiedzialności za opóźnienia w dostawie.", ABUSIVE[0]],
    ["Konsument może odstąpić od umowy w terminie 14 dni bez podania przyczyny.", ABUSIVE[1]],
    ["Reklamację można złożyć pisemnie lub drogą elektroniczną.", ABUSIVE[1]],
    ["Wszelkie spory rozstrzyga sąd właściwy dla siedziby Sprzedawcy.", ABUSIVE[0]],
    ["Zwrot płatności nastąpi nie później niż w terminie 14 dni.", ABUSIVE[1]],
    ["Sprzedawca może jednostronnie zmienić cenę po zawarciu umowy.", ABUSIVE[0]],
    ["Towar zostanie wysłany w ciągu trzech dni roboczych.", ABUSIVE[1]],
    ["Klient traci prawo do reklamacji po otwarciu opakowania.", ABUSIVE[0]],
    ["Umowa zostaje zawarta na czas nieokreślony.", ABUSIVE[1]],
]

CDSC_ROWS = [
    # the dataset description's example (real)
    [1, "Chłopiec w czerwonych trampkach skacze wysoko do góry nieopodal fontanny .",
     "Chłopiec w bluzce w paski podskakuje wysoko obok brązowej fontanny .", "NEUTRAL"],
    [2, "Mężczyzna jedzie na rowerze po ścieżce .", "Mężczyzna jedzie rowerem .", "ENTAILMENT"],
    [3, "Kobieta gra na gitarze .", "Nikt nie gra na gitarze .", "CONTRADICTION"],
    [4, "Dwa psy biegną po łące .", "Psy biegną .", "ENTAILMENT"],
    [5, "Dziewczynka czyta książkę w parku .", "Żadna dziewczynka nie czyta .", "CONTRADICTION"],
    [6, "Starszy pan karmi gołębie .", "Pan siedzi na ławce .", "NEUTRAL"],
    [7, "Kot śpi na parapecie .", "Kot nie śpi .", "CONTRADICTION"],
    [8, "Chłopcy grają w piłkę .", "Dzieci grają .", "ENTAILMENT"],
    [9, "Kobieta kroi chleb .", "Kobieta jest w kuchni .", "NEUTRAL"],
    [10, "Pies aportuje patyk .", "Pies bawi się .", "ENTAILMENT"],
    [11, "Mężczyzna śpiewa na scenie .", "Nikt nie śpiewa .", "CONTRADICTION"],
    [12, "Dziecko je lody .", "Dziecko siedzi przy stole .", "NEUTRAL"],
]

DYK_ROWS = [
    # the dataset description's example (real; its answer keeps the CSV's doubled quotes as plain quotes)
    ["czywiesz4362", "ile partii tworzy powołaną przez Wiktora Juszczenkę koalicję Blok Nasza Ukraina?",
     '"W wyborach prezydenckich w 2004 roku, Moroz przekazał swoje poparcie Wiktorowi Juszczence. Po wyborach w 2006 '
     'socjaliści początkowo tworzyli ""pomarańczową koalicję"" z Naszą Ukrainą i Blokiem Julii Tymoszenko."', 0],
    ["czywiesz1", "kto napisał Pana Tadeusza?", "Pan Tadeusz to epopeja Adama Mickiewicza.", 1],
    ["czywiesz1", "kto napisał Pana Tadeusza?", "Mickiewicz urodził się w Zaosiu.", 0],
    ["czywiesz2", "jak nazywa się najdłuższa rzeka Polski?", "Wisła jest najdłuższą rzeką Polski.", 1],
    ["czywiesz2", "jak nazywa się najdłuższa rzeka Polski?", "Odra płynie przez Wrocław.", 0],
    ["czywiesz3", "gdzie leży Zakopane?", "Zakopane leży u stóp Tatr.", 1],
    ["czywiesz4", "kiedy powstał Kraków?", "Wawel to wzgórze w Krakowie.", 0],
    ["czywiesz5", "co to jest żubr?", "Żubr to największy ssak lądowy Europy.", 1],
    ["czywiesz6", "ile nóg ma pająk?", "Pająki snują sieci.", 0],
    ["czywiesz7", "jak daleko jest Księżyc?", "Księżyc jest oddalony o około 384 tysiące km.", 1],
    ["czywiesz8", "kto odkrył polon?", "Polon odkryła Maria Skłodowska-Curie.", 1],
    ["czywiesz8", "kto odkrył polon?", "Paryż jest stolicą Francji.", 0],
    ["czywiesz9", "gdzie jest Łeba?", "Łeba leży nad Bałtykiem.", 1],
    ["czywiesz9", "gdzie jest Łeba?", "Bałtyk jest morzem śródlądowym.", 0],
]

POLEMO_IN = ["__label__meta_plus_m", "__label__meta_minus_m", "__label__meta_zero", "__label__meta_amb"]
POLEMO_ROWS = [
    # the dataset description's example (real, shortened there with an ellipsis)
    ["Super lekarz i człowiek przez duże C . Bardzo duże doświadczenie i trafne diagnozy .", POLEMO_IN[0]],
    ["Hotel brudny , obsługa niemiła , nie polecam .", POLEMO_IN[1]],
    ["Pokój na drugim piętrze , śniadanie od siódmej .", POLEMO_IN[2]],
    ["Jedzenie świetne , ale pokoje zimne i głośne .", POLEMO_IN[3]],
    ["Pani doktor cierpliwa i życzliwa , wszystko wyjaśniła .", POLEMO_IN[0]],
    ["Czekałem dwie godziny , lekarz był opryskliwy .", POLEMO_IN[1]],
    ["Przychodnia czynna od ósmej do szesnastej .", POLEMO_IN[2]],
    ["Miła obsługa , choć ceny wysokie i hałas z ulicy .", POLEMO_IN[3]],
    ["Znakomity hotel , czysto i cicho .", POLEMO_IN[0]],
    ["Okropne jedzenie i zimne pokoje .", POLEMO_IN[1]],
    ["Parking znajduje się za budynkiem .", POLEMO_IN[2]],
    ["Lekarz dokładny , ale długo się czeka .", POLEMO_IN[3]],
    ["Najlepszy dentysta w mieście !", POLEMO_IN[0]],
    ["Nigdy więcej , zmarnowany urlop .", POLEMO_IN[1]],
]

PSC_ROWS = [
    # the dataset description's example (real, first sentences)
    ["Nowe prawo energetyczne jest zagrożeniem dla  małych producentów energii ze źródeł odnawialnych.",
     "W Polsce w niewielkim stopniu wykorzystuje się elektrownie wodne.", 1],
    ["Rząd przyjął projekt budżetu na przyszły rok.", "Budżet na przyszły rok został przyjęty przez rząd.", 1],
    ["W Gdańsku otwarto nowe muzeum.", "Ceny paliw znowu wzrosły.", 0],
    ["Zima była wyjątkowo łagodna.", "Łagodna zima zaskoczyła synoptyków.", 1],
    ["Sejm uchwalił ustawę o szkolnictwie.", "Piłkarze wygrali mecz w Poznaniu.", 0],
    ["Na giełdzie spadły notowania banków.", "Koncert odbył się w filharmonii.", 0],
    ["Ministerstwo zdrowia ogłosiło nowe zalecenia.", "Nowe zalecenia ogłosił resort zdrowia.", 1],
    ["Most na Wiśle będzie remontowany.", "Remont mostu na Wiśle potrwa rok.", 1],
    ["Szkoły zostaną zamknięte na tydzień.", "Drużyna zdobyła mistrzostwo.", 0],
    ["Pociągi jeżdżą z opóźnieniem.", "W zoo urodziła się żyrafa.", 0],
    ["Prezydent podpisał nową ustawę.", "Nowa ustawa została podpisana przez prezydenta.", 1],
    ["W Tatrach spadł śnieg.", "Bank obniżył stopy procentowe.", 0],
    ["Ceny mieszkań rosną od roku.", "Od roku drożeją mieszkania.", 1],
    ["Festiwal filmowy przyciągnął tłumy.", "Rolnicy protestowali w stolicy.", 0],
]


def csv_repositories() -> None:
    write_csv(OUT / "laugustyniak/abusive-clauses-pl/train.csv", ["text", "class"], ABUSIVE_ROWS[:6])
    write_csv(OUT / "laugustyniak/abusive-clauses-pl/dev.csv", ["text", "class"], ABUSIVE_ROWS[6:8])
    write_csv(OUT / "laugustyniak/abusive-clauses-pl/test.csv", ["text", "class"], ABUSIVE_ROWS[8:])
    header = ["pair_ID", "sentence_A", "sentence_B", "entailment_judgment"]
    write_csv(OUT / "allegro/klej-cdsc-e/train.csv", header, CDSC_ROWS[:6])
    write_csv(OUT / "allegro/klej-cdsc-e/valid.csv", header, CDSC_ROWS[6:9])
    write_csv(OUT / "allegro/klej-cdsc-e/test.csv", header, CDSC_ROWS[9:])
    header = ["q_id", "question", "answer", "target"]
    write_csv(OUT / "allegro/klej-dyk/train.csv", header, DYK_ROWS[:10])
    write_csv(OUT / "allegro/klej-dyk/test.csv", header, DYK_ROWS[10:])
    for name in ("klej-polemo2-in", "klej-polemo2-out"):
        write_csv(OUT / f"allegro/{name}/train.csv", ["sentence", "target"], POLEMO_ROWS[:6])
        write_csv(OUT / f"allegro/{name}/valid.csv", ["sentence", "target"], POLEMO_ROWS[6:10])
        write_csv(OUT / f"allegro/{name}/test.csv", ["sentence", "target"], POLEMO_ROWS[10:])
    header = ["extract_text", "summary_text", "label"]
    write_csv(OUT / "allegro/klej-psc/train.csv", header, PSC_ROWS[:10])
    write_csv(OUT / "allegro/klej-psc/test.csv", header, PSC_ROWS[10:])


# --- Parquet conversions of script repositories ------------------------------------------------------------------

def tagged(rows: list[tuple[list[str], list[str]]], tokens: str, tags: str) -> dict[str, list]:
    return {tokens: [r[0] for r in rows], tags: [r[1] for r in rows]}


ASPECT_NAMES = ["O", "a_minus_m", "a_minus_s", "a_zero", "a_plus_s", "a_plus_m", "a_amb"]
ASPECT_ROWS = [
    # train[20] of the dataset description (real), indices written as the ClassLabel's strings
    ("Dużo wymaga , ale bardzo uczciwy i przyjazny studentom . Warto chodzić na konsultacje . Docenia postępy i "
     "zaangażowanie . Polecam .".split(),
     ["O", "a_plus_s", "O", "O", "O", "a_plus_m", "O", "O", "O", "O", "O", "O", "O", "a_zero", "O", "a_plus_m", "O",
      "O", "O", "O", "O", "O"]),
    ("Wykłady nudne , ćwiczenia świetne .".split(), ["a_minus_m", "O", "O", "a_plus_m", "O", "O"]),
    ("Obsługa niemiła , jedzenie średnie .".split(), ["a_minus_s", "O", "O", "a_amb", "O", "O"]),
    ("Pokój czysty , łóżko wygodne .".split(), ["a_plus_s", "O", "O", "a_plus_s", "O", "O"]),
    ("Ceny wysokie , parking płatny .".split(), ["a_minus_s", "O", "O", "a_zero", "O", "O"]),
    ("Śniadanie bez zarzutu .".split(), ["a_plus_m", "O", "O", "O"]),
    # test
    ("Prowadzący kompetentny , sala zimna .".split(), ["a_plus_m", "O", "O", "a_minus_s", "O", "O"]),
    ("Kawa dobra , ciasto takie sobie .".split(), ["a_plus_s", "O", "O", "a_amb", "O", "O", "O"]),
    ("Termin egzaminu znany wcześniej .".split(), ["a_zero", "O", "O", "O", "O"]),
]

KPWR_NAMES: list[str] = []  # filled from the card (161 names), so the fixture and the card cannot drift


def kpwr_rows() -> list[tuple[list[str], list[str]]]:
    return [
        # train[0] of the dataset description (real): ner [73,160,73,151,160]
        (["RoboRally", "czy", "Wysokie", "napięcie", "?"],
         ["B-nam_pro_title", "O", "B-nam_pro_title", "I-nam_pro_title", "O"]),
        (["Jan", "Kowalski", "mieszka", "w", "Łodzi", "."], ["B-nam_liv_person", "I-nam_liv_person", "O", "O",
                                                             "B-nam_loc_gpe_city", "O"]),
        (["Wisła", "płynie", "przez", "Polskę", "."], ["B-nam_loc_hydronym_river", "O", "O", "B-nam_loc_gpe_country",
                                                       "O"]),
        (["Pracuje", "w", "Orlenie", "."], ["O", "O", "B-nam_org_company", "O"]),
        (["Czytam", "Gazetę", "Wyborczą", "."], ["O", "B-nam_pro_media_periodic", "I-nam_pro_media_periodic", "O"]),
        (["Byłem", "w", "Gdańsku", "i", "Sopocie", "."], ["O", "O", "B-nam_loc_gpe_city", "O", "B-nam_loc_gpe_city",
                                                          "O"]),
        (["Żubry", "żyją", "w", "Puszczy", "Białowieskiej", "."], ["O", "O", "O", "B-nam_loc_land", "I-nam_loc_land",
                                                                  "O"]),
        (["Anna", "Nowak", "wygrała", "."], ["B-nam_liv_person", "I-nam_liv_person", "O", "O"]),
        (["Mecz", "odbył", "się", "w", "Krakowie", "."], ["O", "O", "O", "O", "B-nam_loc_gpe_city", "O"]),
        (["Polska", "graniczy", "z", "Niemcami", "."], ["B-nam_loc_gpe_country", "O", "O", "B-nam_loc_gpe_country",
                                                        "O"]),
    ]


POS_NAMES = ['interp', 'comp', 'pred', 'imps', 'ppas', 'adja', 'aglt', 'interj', 'depr', 'numcol', 'ppron3', 'qub',
             'ger', 'winien', 'adj', 'xxx', 'num', 'fin', 'ppron12', 'siebie', 'inf', 'pcon', 'prep', 'praet', 'adjp',
             'impt', 'brev', 'pact', 'burk', 'adjc', 'adv', 'bedzie', 'subst', 'conj', 'pant']
POS_ROWS = [
    # the dataset description's second example (real)
    (["Zarejestruj", "się", "jako", "bezrobotny", "."], ["impt", "qub", "conj", "subst", "interp"]),
    (["Najwyraźniej", "źle", "ocenił", "odległość", "."], ["adv", "adv", "praet", "subst", "interp"]),
    (["Kot", "śpi", "na", "kanapie", "."], ["subst", "fin", "prep", "subst", "interp"]),
    (["Będę", "czytać", "książkę", "."], ["bedzie", "inf", "subst", "interp"]),
    (["Duży", "dom", "stoi", "pusty", "."], ["adj", "subst", "fin", "adj", "interp"]),
    (["On", "ją", "widział", "."], ["ppron3", "ppron3", "praet", "interp"]),
    (["Ja", "i", "ty", "."], ["ppron12", "conj", "ppron12", "interp"]),
    (["Dwa", "koty", "biegną", "."], ["num", "subst", "fin", "interp"]),
    (["Trzeba", "iść", "."], ["pred", "inf", "interp"]),
    (["Powinien", "przyjść", "."], ["winien", "inf", "interp"]),
]

TOPICS = ["DEFENSE_AND_SECURITY", "EDUCATION", "FOREIGN_POLICY", "HEALHCARE", "IMMIGRATION",
          "INFRASTRUCTURE_AND_ENVIROMENT", "POLITICAL_AND_LEGAL_SYSTEM", "SOCIETY", "WELFARE"]
POLITICAL_NAMES = ["O"] + [f"{p}-{t}" for t in TOPICS for p in "BI"]
_TWEET = ("@k_mizera @rdrozd Problemem jest mała produkcja dlatego takie ceny . 10 000 mikrofirm zamknęło się w "
          "poprzednim tygodniu w obawie przed ZUS a wystarczyło zlecić tym co chcą np . szycie masek czy drukowanie "
          "przyłbic to nie wymaga super sprzętu , umiejętności . nie będzie pit , vat i zus będą bezrobotni").split()
POLITICAL_ROWS = [
    # the dataset description's example tweet (real): B-WELFARE at ZUS, pit, vat, zus, bezrobotni
    (_TWEET, ["B-WELFARE" if i in (21, 45, 47, 49, 51) else "O" for i in range(len(_TWEET))]),
    ("Więcej pieniędzy na służbę zdrowia i szpitale !".split(),
     ["O", "O", "O", "B-HEALHCARE", "I-HEALHCARE", "O", "B-HEALHCARE", "O"]),
    ("Nowe drogi i koleje w każdym powiecie .".split(),
     ["O", "B-INFRASTRUCTURE_AND_ENVIROMENT", "O", "B-INFRASTRUCTURE_AND_ENVIROMENT", "O", "O", "O", "O"]),
    ("Silna armia to bezpieczna Polska .".split(), ["O", "B-DEFENSE_AND_SECURITY", "O", "O", "O", "O"]),
    ("Darmowe podręczniki dla uczniów .".split(), ["B-EDUCATION", "I-EDUCATION", "O", "O", "O"]),
    ("Wsparcie dla Ukrainy i sojuszników z NATO .".split(),
     ["O", "O", "B-FOREIGN_POLICY", "O", "O", "O", "B-DEFENSE_AND_SECURITY", "O"]),
    ("Uczciwe sądy i niezależna prokuratura .".split(),
     ["O", "B-POLITICAL_AND_LEGAL_SYSTEM", "O", "O", "B-POLITICAL_AND_LEGAL_SYSTEM", "O"]),
    ("Pomoc dla uchodźców i rodzin .".split(), ["O", "O", "B-IMMIGRATION", "O", "B-SOCIETY", "O"]),
    ("Wyższe emerytury dla seniorów .".split(), ["B-WELFARE", "I-WELFARE", "O", "O", "O"]),
    ("Czyste powietrze w miastach .".split(),
     ["B-INFRASTRUCTURE_AND_ENVIROMENT", "I-INFRASTRUCTURE_AND_ENVIROMENT", "O", "O", "O"]),
]

PUNCT_NAMES = ["B-.", "B-,", "B--", "B-!", "B-?", "B-:", "B-;", "O"]
PUNCT_ROWS = [
    # the dataset description's example (real), first 12 words
    ("selekcjoner szosowej kadry elity mężczyzn piotr wadecki ogłosił 27 marca 2008 r".split(),
     ["O"] * 11 + ["B-."]),
    ("czy to prawda że jutro pada".split(), ["O", "O", "O", "O", "O", "B-?"]),
    ("uwaga są trzy rzeczy jabłka gruszki śliwki".split(), ["B-!", "O", "O", "B-:", "B-,", "B-,", "B-."]),
    ("to był dzień ciężki dzień".split(), ["O", "O", "B--", "O", "B-;"]),
    ("dziękuję bardzo wszystkim".split(), ["O", "O", "B-."]),
    ("gdzie jest dworzec".split(), ["O", "O", "B-?"]),
    ("proszę wejść tutaj".split(), ["O", "O", "B-."]),
    ("no cóż trudno".split(), ["O", "B-,", "B-!"]),
]


def parquet_conversions(kpwr_names: list[str]) -> None:
    def tag_features(tokens: str, tags: str, names: list[str]) -> datasets.Features:
        return datasets.Features({tokens: datasets.Sequence(datasets.Value("string")),
                                  tags: datasets.Sequence(datasets.ClassLabel(names=names))})

    write_parquet(OUT / "clarin-pl/aspectemo", "1.0",
                  {"train": tagged(ASPECT_ROWS[:6], "tokens", "labels"), "test": tagged(ASPECT_ROWS[6:], "tokens", "labels")},
                  tag_features("tokens", "labels", ASPECT_NAMES))
    rows = kpwr_rows()
    kpwr = {"tokens": [r[0] for r in rows], "lemmas": [[t.lower() for t in r[0]] for r in rows],
            "orth": [["subst:sg:nom:n"] * len(r[0]) for r in rows], "ner": [r[1] for r in rows]}
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "lemmas": datasets.Sequence(datasets.Value("string")),
                                  "orth": datasets.Sequence(datasets.Value("string")),
                                  "ner": datasets.Sequence(datasets.ClassLabel(names=kpwr_names))})
    write_parquet(OUT / "clarin-pl/kpwr-ner", "default",
                  {"train": {k: v[:7] for k, v in kpwr.items()}, "test": {k: v[7:] for k, v in kpwr.items()}}, features)
    pos = {"id": [f"fixture-{i}-s" for i in range(len(POS_ROWS))], **tagged(POS_ROWS, "tokens", "pos_tags")}
    features = datasets.Features({"id": datasets.Value("string"),
                                  "tokens": datasets.Sequence(datasets.Value("string")),
                                  "pos_tags": datasets.Sequence(datasets.ClassLabel(names=POS_NAMES))})
    write_parquet(OUT / "clarin-pl/nkjp-pos", "default",
                  {"train": {k: v[:7] for k, v in pos.items()}, "test": {k: v[7:] for k, v in pos.items()}}, features)
    polemo = {"text": [r[0] for r in POLEMO_OFFICIAL], "target": [r[1] for r in POLEMO_OFFICIAL]}
    features = datasets.Features({"text": datasets.Value("string"),
                                  "target": datasets.ClassLabel(names=["zero", "minus", "plus", "amb"])})
    write_parquet(OUT / "clarin-pl/polemo2-official", "all_text",
                  {"train": {k: v[:6] for k, v in polemo.items()}, "validation": {k: v[6:9] for k, v in polemo.items()},
                   "test": {k: v[9:] for k, v in polemo.items()}}, features)
    political = tagged(POLITICAL_ROWS, "tokens", "tags")
    write_parquet(OUT / "laugustyniak/political-advertising-pl", "political-advertising-pl",
                  {"train": {k: v[:5] for k, v in political.items()},
                   "validation": {k: v[5:7] for k, v in political.items()},
                   "test": {k: v[7:] for k, v in political.items()}},
                  tag_features("tokens", "tags", POLITICAL_NAMES))
    punct = tagged(PUNCT_ROWS, "tokens", "tags")
    write_parquet(OUT / "clarin-pl/2021-punctuation-restoration", "punctuation_dataset",
                  {"train": {k: v[:5] for k, v in punct.items()}, "test": {k: v[5:] for k, v in punct.items()}},
                  tag_features("tokens", "tags", PUNCT_NAMES))


POLEMO_OFFICIAL = [
    # train[0] of the dataset description (real): target 1 = minus
    ("Na samym wejściu hotel śmierdzi . W pokojach jest pleśń na ścianach , brudny dywan . W łazience śmierdzi chemią "
     ", hotel nie grzeje w pokojach panuje chłód . Wyposażenie pokoju jest stare , kran się rusza , drzwi na balkon "
     "nie domykają się . Jedzenie jest w małych ilościach i nie smaczne . Nie polecam nikomu tego hotelu .", 1),
    ("Lekarz bardzo kompetentny i miły , polecam .", 2),
    ("Zajęcia odbywają się we wtorki i czwartki .", 0),
    ("Produkt ładny , ale szybko się zepsuł .", 3),
    ("Wspaniała obsługa , wrócę na pewno .", 2),
    ("Nie polecam , strata pieniędzy .", 1),
    ("Sklep otwarty w soboty .", 0),
    ("Dobra cena , słaba jakość .", 3),
    ("Rewelacyjne wykłady , polecam każdemu .", 2),
    ("Obsługa opryskliwa , brud w pokoju .", 1),
    ("Pensjonat położony przy głównej drodze .", 0),
    ("Ładny widok , ale głośno w nocy .", 3),
]


# --- an export made with datasets ----------------------------------------------------------------------------------

DIALOGUE_ROWS = [
    # the dataset description's example (real)
    ("Proszę o to, aby przygotował pan sobie od ośmiu do dwudziestu cyfr. Przełączę pana do automatycznej części "
     "serwisu.", "instruct"),
    ("Dzień dobry, w czym mogę pomóc?", "initGreeting"),
    ("Chciałbym sprawdzić stan mojego zamówienia.", "inform"),
    ("Czy może pan podać numer zamówienia?", "setQuestion"),
    ("Tak, oczywiście.", "answer"),
    ("Dziękuję bardzo.", "thanking"),
    ("Do widzenia.", "initGoodbye"),
    ("Halo, słyszy mnie pan?", "contactCheck"),
    ("Przepraszam za utrudnienia.", "apology"),
    ("Dobrze, rozumiem.", "autoPositive"),
    ("Chwileczkę, sprawdzę.", "stalling"),
]


def export() -> None:
    rows = {"text": [r[0] for r in DIALOGUE_ROWS], "name": [r[1] for r in DIALOGUE_ROWS]}
    data = datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({k: v[:7] for k, v in rows.items()}),
        "validation": datasets.Dataset.from_dict({k: v[7:9] for k, v in rows.items()}),
        "test": datasets.Dataset.from_dict({k: v[9:] for k, v in rows.items()}),
    })
    data.save_to_disk(str(OUT / "clarin-pl/dialogue-acts"))


def main() -> None:
    import yaml

    card = yaml.safe_load((OUT.parents[2] / "tasks" / "lepiszcze" / "kpwr-ner.yaml").read_text(encoding="utf-8"))
    keep = OUT / "PROVENANCE.md"
    saved = keep.read_text(encoding="utf-8") if keep.exists() else None
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    if saved is not None:
        keep.write_text(saved, encoding="utf-8")
    csv_repositories()
    parquet_conversions(card["labels"]["names"])
    export()


if __name__ == "__main__":
    main()
