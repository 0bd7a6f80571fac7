"""A deterministic generator of synthetic, NQ-shaped question-answering data.

The ``tiny`` profile trains a small DistilBERT offline, so it needs data that is free to ship,
small, and still worth retrieving from. This module invents a little encyclopedia and writes
``nq-train.json`` and ``nq-val.json`` in the same format as the real NQ-toy files::

    [{"question": str, "answers": [str], "gold_context": {"title": str, "text": str}}, ...]

Regenerate the committed files with::

    python -m dpr_course.synthetic [--out DIR]

Design
------
* **A world first, then text.** ``build_world`` invents towns, people, companies, buildings,
  festivals and books, and links them (a person is born in a town, works for a company, marries
  another person, designs a bridge). Passages are then written about this world, so facts agree
  across passages, and one entity's name turns up in other entities' passages.
* **One entity, several passages.** Every passage is titled by its entity and covers one aspect
  (a person's early life, education, career, works, honours, family, death; a town's geography,
  history, economy, ...). Each passage is the gold context of one question. Retrieval is scored
  by title, as in the course, so any passage about the right entity counts.
* **Hard negatives on purpose.** Family members share a surname and name each other in full,
  buildings share their town's name ("Kessat Lighthouse", "Kessat Market Hall"), companies
  carry their founder's surname or their town's name, people share birthplaces and years, and
  some passages are near-duplicates: the same wording about another fact (two novels of one
  writer, two buildings of one town).
* **The name mostly in the title.** Like the later paragraphs of an encyclopedia article, most
  passages say "she", "the firm" or "the structure" instead of repeating the name, while other
  entities' passages do name it. Word overlap (BM25) is therefore often fooled by a relative or
  a namesake, and a dual encoder has something to learn: which name is the subject.
* **Paraphrased questions.** Each fact has passage wordings and, separately, lower-case question
  wordings with other words ("she came from Grenaly" / "where did greta quillrand grow up").
  The question names the entity but never contains the answer.
* **Invented content only.** Names are built from syllables and small lists of common English
  words; every fact is drawn at random. Nothing describes the real world.
* **Deterministic.** Everything comes from private ``random.Random`` generators seeded from
  ``SEED``; the code never iterates over a set, reads the clock or hashes a string, so the
  output is byte-stable.
* **Sized for the tokenizer.** Passages are padded with background sentences to about 60-110
  DistilBERT word pieces (title and text together), estimated here without the tokenizer.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

SEED = 20240611
NUM_TRAIN = 2400
NUM_VAL = 1200
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "data" / "synthetic"

# Share of passages that get a second question about another of their facts.
SECOND_QUESTION_SHARE = 0.15

# How many entities the world holds: about 4,400 candidate passages, of which 3,600 are kept.
NUM_FAMILIES = 125
NUM_TOWNS = 110
NUM_COMPANIES = 95
NUM_FESTIVALS = 55
LAST_YEAR = 2022  # nothing in the world happens later than this

# Share of a person's later passages that name the person (by surname) in the text; the others
# say "she" or "he", so the full name is in the title only.
SURNAME_SHARE = 0.3
# The same for companies, buildings, festivals, books and towns ("the Kessat Lighthouse" or
# "the structure").
ENTITY_NAME_SHARE = 0.4

# Passage length, in estimated word pieces (title and text, with [CLS] and two [SEP]).
MIN_PIECES = 66
MAX_PIECES = 102

# --------------------------------------------------------------------------------------------
# Word lists. Names are assembled from these syllables, so they are invented; the other lists
# are plain English words that the BERT vocabulary keeps whole.
# --------------------------------------------------------------------------------------------

FIRST_NAMES = {
    "f": ["Marta", "Ilse", "Sanne", "Orla", "Vera", "Lidia", "Anneke", "Rosa", "Elin", "Tamsin",
          "Greta", "Nadia", "Maren", "Ida", "Hedda", "Leonie", "Alma", "Sofie", "Petra", "Katrin",
          "Mira", "Edda", "Runa", "Yara", "Liv", "Clara", "Ottilie", "Wilma"],
    "m": ["Teodor", "Pieter", "Arlo", "Emil", "Casper", "Joris", "Anton", "Lukas", "Oskar",
          "Tobias", "Bram", "Felix", "Konrad", "Aldo", "Henrik", "Stellan", "Rafe", "Ivo",
          "Niels", "Otto", "Corin", "Dario", "Silas", "Ansel", "Valter", "Edvin", "Lorens"],
}
SURNAME_PARTS = (["Ok", "Dal", "Fer", "Hal", "Mor", "Tren", "Bask", "Cor", "Est", "Gul", "Hav",
                  "Isk", "Jen", "Kal", "Lor", "Mav", "Nor", "Orv", "Pell", "Rosk", "Sel", "Tav",
                  "Ulv", "Varn", "Wes", "Yel", "Zor", "Brin", "Cask", "Dren", "Vask", "Quill"],
                 ["onne", "low", "rand", "ecke", "ara", "issen", "ova", "eth", "ick", "ane",
                  "ard", "ino", "ersen", "ault", "emont", "aro", "wyn", "elle", "oux", "enko"])
TOWN_PARTS = (["Kes", "Vel", "Ash", "Tir", "Brae", "Hol", "Lin", "Sev", "Ard", "Gren", "Cal",
               "Dor", "Fal", "Har", "Jor", "Nev", "Ost", "Pra", "Rud", "Sol", "Tam", "Wen", "Zan",
               "Mer", "Bel", "Quen", "Ros", "Ul", "Ev", "Kor"],
              ["sat", "avel", "ora", "ello", "ast", "imar", "ussa", "orn", "aly", "enta", "ivo",
               "enna", "ach", "und", "ira", "olm"])
RIVER_PARTS = (["Mor", "Sel", "Tav", "Ust", "Lun", "Am", "Dra", "Vis", "Narr", "Ter", "Kal", "Ys"],
               ["ra", "en", "ine", "el", "au", "isa"])
REGION_PARTS = (["Ostr", "Kav", "Merr", "Sund", "Vald", "Hest", "Brom", "Ell", "Tarn", "Quor"],
                ["elia", "ania", "avia", "ona", "eria"])

PROFESSIONS = [
    # profession, field of study, kind of work (None: designs buildings), verb for that work
    ("novelist", "literature", "novel", "published"),
    ("poet", "literature", "collection of poems", "published"),
    ("playwright", "drama", "play", "staged"),
    ("composer", "music", "opera", "premiered"),
    ("painter", "painting", "painting", "completed"),
    ("photographer", "photography", "photo series", "exhibited"),
    ("historian", "history", "history book", "published"),
    ("botanist", "botany", "field guide", "published"),
    ("architect", "architecture", None, None),
    ("engineer", "engineering", None, None),
]
DESIGNER_SHARE = 0.22  # share of people who are architects or engineers
NARRATIVE_KINDS = ["novel", "play", "opera"]  # works that get passages of their own
FATHER_JOBS = ["miller", "baker", "carpenter", "fisherman", "blacksmith", "clockmaker", "tailor",
               "ferryman", "shoemaker", "printer", "tanner", "weaver", "postmaster", "boatbuilder"]
ROLES = ["clerk", "draughtsman", "chief designer", "technical director", "bookkeeper",
         "head of research", "sales manager", "junior engineer", "translator", "archivist"]
INDUSTRIES = ["salt", "wool", "glass", "timber", "river trade", "copper mining", "paper making",
              "cheese", "pottery", "shipbuilding", "apple orchards", "lace"]
COMPANY_KINDS = [
    # kind of company, its possible products
    ("Shipping Company", ["passenger ferries", "river barges", "cargo steamers"]),
    ("Glassworks", ["window glass", "lamp chimneys", "green bottles"]),
    ("Ironworks", ["cast iron stoves", "railway bridges", "steam engines"]),
    ("Mills", ["wool cloth", "wheat flour", "writing paper"]),
    ("Brewery", ["dark beer", "pale ale", "cider"]),
    ("Printing House", ["school books", "road maps", "daily newspapers"]),
    ("Instrument Makers", ["pianos", "pocket watches", "telescopes"]),
    ("Pottery", ["blue tableware", "roof tiles", "stone jars"]),
    ("Chemical Works", ["soap", "matches", "paint"]),
    ("Rail Company", ["narrow gauge trains", "sleeping cars", "tram lines"]),
]
STRUCTURE_KINDS = [
    # kind, what is measured, range in metres
    ("Bridge", "long", (80, 640)),
    ("Tower", "tall", (30, 140)),
    ("Library", "tall", (14, 40)),
    ("Lighthouse", "tall", (18, 60)),
    ("Observatory", "tall", (12, 35)),
    ("Opera House", "long", (50, 120)),
    ("Market Hall", "long", (40, 150)),
    ("Railway Station", "long", (60, 220)),
]
MATERIALS = ["red brick", "grey granite", "limestone", "cast iron", "oak timber", "concrete",
             "yellow sandstone", "steel"]
DISASTERS = ["a flood", "a fire", "a storm", "an earthquake"]
FESTIVAL_KINDS = ["Lantern Festival", "Harvest Fair", "Music Festival", "Film Festival",
                  "Boat Festival", "Poetry Festival", "Folk Dance Festival", "Kite Festival",
                  "Theatre Festival", "Winter Light Festival"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
TITLE_ADJECTIVES = ["Salt", "Glass", "Silent", "Winter", "Copper", "Hollow", "Amber", "Northern",
                    "Quiet", "Iron", "Paper", "Last", "Distant", "Crooked", "Burning", "Lost",
                    "Green", "Broken", "Sleeping", "Golden"]
TITLE_NOUNS = ["Orchard", "Harbour", "Lantern", "Garden", "River", "Bell", "Road", "House",
               "Mirror", "Crossing", "Season", "Letters", "Island", "Shepherd", "Voyage", "Clock",
               "Meadow", "Tide", "Window", "Ferry"]
PRIZE_ADJECTIVES = ["Amber", "Silver", "Golden", "Crimson", "Northern", "Iron", "Ivory", "Blue"]
PRIZE_NOUNS = ["Quill", "Compass", "Lantern", "Anchor", "Laurel", "Key", "Star", "Feather",
               "Oak", "Bell"]
PRIZE_TYPES = ["Prize", "Medal", "Award"]
HERO_JOBS = ["ferry pilot", "schoolteacher", "soldier", "lighthouse keeper", "orphan",
             "merchant", "doctor", "clerk", "stable hand", "baker"]
HERO_PLOTS = ["returns home after many years abroad", "tries to save the family farm",
              "falls in love with a stranger", "searches for a missing brother",
              "keeps a secret from the whole town", "leaves home to work on the river boats"]
TRAITS = ["quick wit", "quiet manner", "untidy handwriting", "generosity", "sharp temper",
          "punctuality", "loud laugh", "long silences"]
HOBBIES = ["walker", "gardener", "sailor", "chess player", "swimmer", "bird watcher", "cook"]
STAYS = ["spent a long winter", "rented a small flat", "stayed for some months",
         "gave a series of talks"]
HABITS = ["rarely gave interviews", "disliked being photographed",
          "enjoyed giving public lectures"]
FIRM_REPUTATIONS = ["paying its workers well", "its careful workmanship", "its bright posters"]
FESTIVAL_CHANGES = ["cancelled because of heavy rain", "extended to ten days",
                    "held indoors for the first time"]


def a(noun: str) -> str:
    """``a painter``, ``an engineer``."""
    return f"{'an' if noun[0].lower() in 'aeiou' else 'a'} {noun}"


def capitalised(text: str) -> str:
    return text[0].upper() + text[1:]


# --------------------------------------------------------------------------------------------
# The world.
# --------------------------------------------------------------------------------------------


@dataclass
class Town:
    name: str
    region: str
    river: str
    bank: str
    founded: int
    founder: str  # a name only: the founder lived long before the people of the world
    population: str
    census_year: int
    industry: str
    neighbour: "Town | None" = None
    distance_km: int = 0
    natives: list = field(default_factory=list)
    structures: list = field(default_factory=list)
    festivals: list = field(default_factory=list)
    companies: list = field(default_factory=list)


@dataclass
class Person:
    first: str
    surname: str
    gender: str
    profession: tuple
    born: int
    died: int
    birthplace: Town
    deathplace: Town
    father_job: str
    siblings: list = field(default_factory=list)
    sibling: "Person | None" = None  # the one named in the family passage
    school: str = ""
    graduated: int = 0
    teacher: "Person | None" = None
    students: list = field(default_factory=list)
    employer: "Company | None" = None
    joined: int = 0
    role: str = ""
    work_town: "Town | None" = None
    spouse: "Person | None" = None
    married: int = 0
    works: list = field(default_factory=list)
    designs: list = field(default_factory=list)
    prize: str = ""
    prize_org: str = ""
    prize_year: int = 0
    companies_founded: list = field(default_factory=list)
    festivals_founded: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.first} {self.surname}"

    @property
    def is_designer(self) -> bool:
        return self.profession[2] is None


@dataclass
class Company:
    name: str
    kind: str
    product: str
    founder: Person
    founded: int
    town: Town
    hq_town: Town
    hq_year: int
    buyer: "Company | None" = None
    sold: int = 0
    staff: list = field(default_factory=list)


@dataclass
class Structure:
    name: str
    kind: str
    town: Town
    designer: Person
    started: int
    completed: int
    dimension: str
    size_m: int
    material: str
    disaster: str
    damaged: int
    restored: int


@dataclass
class Festival:
    name: str
    town: Town
    month: str
    first_held: int
    founder: Person
    prize: str


@dataclass
class Work:
    title: str
    kind: str
    verb: str
    author: Person
    year: int
    setting: Town
    hero: str
    hero_job: str
    plot: str
    publisher: Company


@dataclass
class World:
    towns: list
    people: list
    companies: list
    structures: list
    festivals: list
    works: list


class NameMaker:
    """Invents names from syllables and never hands out the same name twice."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.taken = {name.lower() for names in FIRST_NAMES.values() for name in names}

    def claim(self, name: str) -> bool:
        """Reserve ``name``; False if it is already in use."""
        if name.lower() in self.taken:
            return False
        self.taken.add(name.lower())
        return True

    def word(self, parts: tuple) -> str:
        starts, ends = parts
        for _ in range(1000):
            candidate = self.rng.choice(starts) + self.rng.choice(ends)
            if self.claim(candidate):
                return candidate
        raise RuntimeError("ran out of syllable combinations")


def build_world(rng: random.Random) -> World:
    names = NameMaker(rng)
    regions = [names.word(REGION_PARTS) for _ in range(8)]
    rivers = [names.word(RIVER_PARTS) for _ in range(18)]
    surnames = [names.word(SURNAME_PARTS) for _ in range(NUM_FAMILIES)]
    towns = [make_town(names.word(TOWN_PARTS), regions, rivers, surnames, rng)
             for _ in range(NUM_TOWNS)]
    for town in towns:
        town.neighbour = rng.choice([t for t in towns if t is not town])
        town.distance_km = rng.randint(6, 90)
    people = make_people(surnames, towns, rng)
    companies = make_companies(people, towns, names, rng)
    for person in people:
        assign_life(person, people, companies, towns, names, rng)
    structures = make_structures(people, towns, surnames, names, rng)
    festivals = make_festivals(people, towns, names, rng)
    works = [work for person in people for work in person.works if work.kind in NARRATIVE_KINDS]
    return World(towns, people, companies, structures, festivals, works)


def make_town(name, regions, rivers, surnames, rng) -> Town:
    founder = f"{rng.choice(FIRST_NAMES[rng.choice('fm')])} {rng.choice(surnames)}"
    return Town(
        name=name,
        region=rng.choice(regions),
        river=rng.choice(rivers),
        bank=rng.choice(["north", "south", "east", "west"]),
        founded=rng.randint(1120, 1680),
        founder=founder,
        population=f"{rng.randint(2, 95)},{rng.randint(0, 9)}00",
        census_year=rng.choice([1990, 2000, 2010, 2020]),
        industry=rng.choice(INDUSTRIES),
    )


def make_people(surnames, towns, rng) -> list:
    """Families of two to four siblings who share a surname and, often, a birthplace."""
    people = []
    for surname in surnames:
        home = rng.choice(towns)
        generation = rng.randint(1790, 1930)
        family = []
        for _ in range(rng.choice([2, 2, 3, 3, 4, 4])):
            gender = rng.choice("fm")
            first = rng.choice([n for n in FIRST_NAMES[gender]
                                if n not in [member.first for member in family]])
            designer = rng.random() < DESIGNER_SHARE
            profession = rng.choice([p for p in PROFESSIONS if (p[2] is None) == designer])
            born = generation + rng.randint(-6, 6)
            died = born + rng.randint(38, 94)
            if died > LAST_YEAR:
                died = rng.randint(born + 38, LAST_YEAR)
            birthplace = home if rng.random() < 0.7 else rng.choice(towns)
            person = Person(first, surname, gender, profession, born, died, birthplace,
                            deathplace=rng.choice(towns), father_job=rng.choice(FATHER_JOBS))
            birthplace.natives.append(person)
            family.append(person)
        for member in family:
            member.siblings = [m for m in family if m is not member]
            member.sibling = rng.choice(member.siblings)
        people.extend(family)
    return people


def make_companies(people, towns, names, rng) -> list:
    """Companies named after their founder's family or their town."""
    companies = []
    while len(companies) < NUM_COMPANIES:
        founder = rng.choice(people)
        kind, products = rng.choice(COMPANY_KINDS)
        town = founder.birthplace if rng.random() < 0.5 else rng.choice(towns)
        name = f"{founder.surname if rng.random() < 0.6 else town.name} {kind}"
        if not names.claim(name):
            continue
        founded = founder.born + rng.randint(22, 37)
        company = Company(name, kind, rng.choice(products), founder, founded, town,
                          hq_town=town if rng.random() < 0.4 else rng.choice(towns),
                          hq_year=founded + rng.randint(5, 40))
        town.companies.append(company)
        founder.companies_founded.append(company)
        companies.append(company)
    for company in companies:
        if rng.random() < 0.7:
            company.buyer = rng.choice([c for c in companies if c is not company])
            company.sold = rng.randint(company.founded + 15, min(company.founded + 90, LAST_YEAR))
    return companies


def assign_life(person, people, companies, towns, names, rng) -> None:
    """Education, career, marriage, works and honours, in an order that fits the dates."""
    school_town = rng.choice(towns).name
    person.school = rng.choice([
        f"University of {school_town}",
        f"{school_town} School of {person.profession[1].title()}",
        f"{school_town} Academy",
    ])
    person.graduated = person.born + rng.randint(20, 26)
    elders = [p for p in people if 18 <= person.born - p.born <= 45 and p.died > person.born + 20
              and p.surname != person.surname]
    same_field = [p for p in elders if p.profession == person.profession]
    person.teacher = rng.choice(same_field or elders or people)
    person.teacher.students.append(person)

    person.joined = person.graduated + rng.randint(1, 8)
    open_firms = [c for c in companies if c.founded <= person.joined]
    person.employer = rng.choice(open_firms or companies)
    person.employer.staff.append(person)
    person.role = rng.choice(ROLES)
    person.work_town = rng.choice(towns)

    peers = [p for p in people if abs(p.born - person.born) <= 8 and p.surname != person.surname
             and p.gender != person.gender and p.spouse is None]
    if person.spouse is None and peers:
        person.spouse = rng.choice(peers)
        person.spouse.spouse = person
        person.married = person.spouse.married = (max(person.born, person.spouse.born)
                                                  + rng.randint(21, 29))
    if not person.is_designer:
        # One or two works; a second one gets a near-duplicate passage (see person_passages).
        years = rng.sample(range(person.graduated + 3, person.died), rng.choice([1, 1, 2]))
        for year in sorted(years):
            person.works.append(make_work(person, year, companies, towns, names, rng))
    person.prize = (f"{rng.choice(PRIZE_ADJECTIVES)} {rng.choice(PRIZE_NOUNS)} "
                    f"{rng.choice(PRIZE_TYPES)}")
    person.prize_org = rng.choice([f"{rng.choice(towns).name} Society of Arts",
                                   f"{rng.choice(towns).name} Academy of Sciences",
                                   f"City Council of {rng.choice(towns).name}"])
    person.prize_year = rng.randint(person.graduated + 8, person.died - 1)


def make_work(person, year, companies, towns, names, rng) -> Work:
    printers = [c for c in companies if c.kind == "Printing House"]
    while True:
        title = rng.choice([
            f"The {rng.choice(TITLE_ADJECTIVES)} {rng.choice(TITLE_NOUNS)}",
            f"The {rng.choice(TITLE_ADJECTIVES)} {rng.choice(TITLE_NOUNS)}",
            f"{capitalised(a(rng.choice(TITLE_NOUNS)))} in {rng.choice(MONTHS)}",
        ])
        if names.claim(title):
            break
    return Work(title=title, kind=person.profession[2], verb=person.profession[3],
                author=person, year=year, setting=rng.choice(towns),
                hero=rng.choice(FIRST_NAMES[rng.choice("fm")]), hero_job=rng.choice(HERO_JOBS),
                plot=rng.choice(HERO_PLOTS), publisher=rng.choice(printers or companies))


def make_structures(people, towns, surnames, names, rng) -> list:
    """Buildings named after their town (often several per town) or a family."""
    designers = [p for p in people if p.is_designer]
    structures = []
    for town in towns:
        for kind, dimension, (low, high) in rng.sample(STRUCTURE_KINDS,
                                                       rng.choice([0, 1, 1, 2, 2, 3])):
            prefix = town.name if rng.random() < 0.8 else rng.choice(surnames)
            if not names.claim(f"{prefix} {kind}"):
                continue
            designer = rng.choice(designers)
            started = rng.randint(designer.graduated + 3, min(designer.died - 1, 1995))
            completed = started + rng.randint(2, 9)
            damaged = rng.randint(completed + 10, 2016)
            structure = Structure(
                name=f"{prefix} {kind}", kind=kind, town=town, designer=designer,
                started=started, completed=completed, dimension=dimension,
                size_m=rng.randint(low, high), material=rng.choice(MATERIALS),
                disaster=rng.choice(DISASTERS), damaged=damaged,
                restored=damaged + rng.randint(2, 6))
            designer.designs.append(structure)
            town.structures.append(structure)
            structures.append(structure)
    return structures


def make_festivals(people, towns, names, rng) -> list:
    festivals = []
    while len(festivals) < NUM_FESTIVALS:
        town = rng.choice(towns)
        name = f"{town.name} {rng.choice(FESTIVAL_KINDS)}"
        if not names.claim(name):
            continue
        founder = rng.choice(people)
        festival = Festival(
            name, town, rng.choice(MONTHS),
            first_held=rng.randint(founder.born + 25, min(founder.died - 1, 2015)),
            founder=founder,
            prize=f"{rng.choice(PRIZE_ADJECTIVES)} {rng.choice(PRIZE_NOUNS)}")
        town.festivals.append(festival)
        founder.festivals_founded.append(festival)
        festivals.append(festival)
    return festivals


# --------------------------------------------------------------------------------------------
# Passages. Each aspect writer returns the key sentences (holding the facts), the facts one may
# ask about as (question wordings, answer), and background sentences that may pad the passage.
# --------------------------------------------------------------------------------------------


@dataclass
class Passage:
    title: str
    sentences: list  # key sentences, always kept; the first one opens the passage
    facts: list  # [(list of question wordings, answer)]
    background: list  # sentences that may pad the passage to length
    style_seed: int | None = None  # passages with one seed are assembled alike
    twin: "Passage | None" = None  # copy this passage's text, with our key sentence in it
    text: str = ""  # set when assembled


def pronouns(person: Person) -> dict:
    she = person.gender == "f"
    return {"p": "she" if she else "he", "P": "She" if she else "He",
            "obj": "her" if she else "him", "poss": "her" if she else "his",
            "Poss": "Her" if she else "His", "sibling": "sister" if she else "brother"}


def subject(person: Person, rng) -> dict:
    """How a passage refers to its person: by surname, or (as later paragraphs of an
    encyclopedia article do) only by pronoun."""
    pr = pronouns(person)
    if rng.random() < SURNAME_SHARE:
        s = person.surname
        return {"S": s, "s": s, "Sposs": f"{s}'s"}
    return {"S": pr["P"], "s": pr["p"], "Sposs": pr["Poss"]}


def mention(name: str, generic: str, rng) -> str:
    """``the Kessat Lighthouse`` or just ``the structure``."""
    return f"the {name}" if rng.random() < ENTITY_NAME_SHARE else f"the {generic}"


def q(text: str) -> str:
    """Questions are lower case and unpunctuated, like the NQ ones."""
    return text.lower()


def any_painter(world: World, rng) -> Person:
    return rng.choice([p for p in world.people if p.profession[0] == "painter"])


# --- people ---------------------------------------------------------------------------------


def person_background(person: Person, world: World, rng) -> list:
    pr = pronouns(person)
    town = rng.choice([person.birthplace, person.deathplace, person.work_town])
    year = rng.randint(person.born + 18, person.died - 1)
    return [
        f"{pr['P']} was {rng.choice(['admired', 'known', 'teased'])} for {pr['poss']} "
        f"{rng.choice(TRAITS)}.",
        f"In {year} {pr['p']} {rng.choice(STAYS)} in {town.name}.",
        f"{pr['Poss']} {rng.choice(['letters', 'notebooks', 'diaries', 'sketchbooks'])} are "
        f"kept in the {rng.choice(['town archive', 'public library', 'local museum'])} of "
        f"{town.name}.",
        f"{pr['P']} spoke {rng.choice(['two', 'three', 'four'])} languages and "
        f"{rng.choice(['read widely', 'translated several books', 'loved long novels'])}.",
        f"{pr['P']} was a keen {rng.choice(HOBBIES)}.",
        f"A portrait of {pr['obj']} by the painter {any_painter(world, rng).name} hangs in the "
        f"town hall of {town.name}.",
        f"A {rng.choice(['short', 'detailed', 'popular'])} biography appeared in "
        f"{min(person.died + rng.randint(5, 60), LAST_YEAR)}.",
        "Later writers have argued about how much of this account can be trusted.",
        f"{pr['P']} {rng.choice(HABITS)}.",
    ]


def relative_sentence(person: Person, rng) -> list:
    """Names a sibling in full, and again by first name: the shared surname makes this passage
    a hard negative for questions about the sibling."""
    sibling, pr = rng.choice(person.siblings), pronouns(person)
    order = "younger" if sibling.born >= person.born else "elder"
    relation = pronouns(sibling)["sibling"]
    return [rng.choice([
        f"{pr['Poss']} {order} {relation}, {sibling.name}, grew up in the same house; "
        f"{sibling.first} later became {a(sibling.profession[0])}.",
        f"{pr['P']} was close to {pr['poss']} {order} {relation} {sibling.name} all "
        f"{pr['poss']} life, and wrote to {sibling.first} every week.",
    ])]


def early_life(person: Person, world: World, rng) -> Passage:
    pr, n = pronouns(person), person.name
    town = person.birthplace
    # The opening paragraph names the person in full, unless it reads as a later one.
    who = n if rng.random() < 0.5 else subject(person, rng)["S"]
    place = rng.choice([f"the river town of {town.name}", f"the small town of {town.name}",
                        f"the market town of {town.name}", town.name])
    key = rng.choice([
        f"{who} was born in {person.born} in {place}, in the province of {town.region}. "
        f"{pr['Poss']} father worked as {a(person.father_job)}, and the family lived above "
        f"the workshop.",
        f"{who} came from {place}, where {pr['p']} was born in {person.born} to a family of "
        f"modest means; {pr['poss']} father was {a(person.father_job)}.",
    ])
    facts = [
        ([f"when was {n} born", f"what year was {n} born", f"what is the birth year of {n}",
          f"in what year was {n} born"], str(person.born)),
        ([f"where did {n} grow up", f"what is the birthplace of {n}",
          f"what town does {n} come from", f"where is {n} originally from"], town.name),
        ([f"what did {n}'s father do for a living", f"what was the occupation of {n}'s father",
          f"what was {n}'s father's trade"], person.father_job),
    ]
    extra = [f"As a child {pr['p']} spent long summers by the {town.river} river.",
             f"{pr['P']} learned to read at the village school and was a quiet pupil.",
             f"The family moved house several times during {pr['poss']} childhood."]
    return Passage(n, [key] + relative_sentence(person, rng), facts,
                   extra + person_background(person, world, rng))


def education(person: Person, world: World, rng) -> Passage:
    pr, n, r = pronouns(person), person.name, subject(person, rng)
    teacher = person.teacher
    key = rng.choice([
        f"{r['S']} studied {person.profession[1]} at the {person.school}, where "
        f"{pr['poss']} teacher was the {teacher.profession[0]} {teacher.name}. {pr['P']} "
        f"completed the course in {person.graduated}.",
        f"After leaving school, {r['s']} trained under {teacher.name} at the {person.school} "
        f"and finished {pr['poss']} studies in {person.graduated}.",
    ])
    facts = [
        ([f"where did {n} go to college", f"which school did {n} attend",
          f"where was {n} educated", f"what school did {n} go to"], person.school),
        ([f"who taught {n}", f"who was the mentor of {n}", f"under whom did {n} learn"],
         teacher.name),
        ([f"when did {n} graduate", f"what year did {n} finish college"], str(person.graduated)),
    ]
    extra = [f"{teacher.surname} encouraged {pr['poss']} early interest in "
             f"{person.profession[1]}.",
             f"Fellow students remembered {pr['obj']} as hard working but shy."]
    return Passage(n, [key], facts, extra + person_background(person, world, rng))


def career(person: Person, world: World, rng) -> Passage:
    pr, n, r = pronouns(person), person.name, subject(person, rng)
    company = person.employer
    key = rng.choice([
        f"In {person.joined} {r['s']} moved to {person.work_town.name} and took a post as "
        f"{person.role} at the {company.name}.",
        f"{r['S']} joined the {company.name} in {person.joined}, working as {a(person.role)} "
        f"in its offices in {person.work_town.name}.",
    ])
    sentences = [key]
    # Firms and festivals name their founders; saying it here too makes this passage a hard
    # negative for questions about the firm or the festival.
    for founded in person.companies_founded[:1]:
        sentences.append(f"Later {pr['p']} founded the {founded.name} in {founded.town.name}.")
    for festival in person.festivals_founded[:1]:
        sentences.append(f"In {festival.first_held} {pr['p']} started the {festival.name}.")
    colleagues = [p for p in company.staff if p is not person]
    if colleagues and len(sentences) == 1:
        sentences.append(f"There {pr['p']} worked alongside {rng.choice(colleagues).name}.")
    facts = [
        ([f"which company did {n} work for", f"who employed {n}", f"what firm hired {n}"],
         company.name),
        ([f"what city did {n} move to for work", f"where did {n} relocate to"],
         person.work_town.name),
        ([f"what job did {n} have", f"what position did {n} hold"], person.role),
        ([f"when did {n} start working", f"what year was {n} hired"], str(person.joined)),
    ]
    extra = [f"The work left {pr['obj']} little time for {person.profession[1]}, which "
             f"{pr['p']} pursued in the evenings.",
             f"{pr['P']} stayed with the firm for {rng.randint(3, 20)} years.",
             f"Colleagues at the firm knew {pr['obj']} as careful and exact."]
    if person.students:
        extra.append(f"Among {pr['poss']} pupils was {rng.choice(person.students).name}.")
    return Passage(n, sentences + relative_sentence(person, rng), facts,
                   extra + person_background(person, world, rng))


def work_subject(work: Work) -> tuple:
    """A sentence on what ``work`` is about, and a question wording for its town."""
    town = work.setting.name
    if work.kind in NARRATIVE_KINDS:
        return (f"It is set in {town} and follows {work.hero}, {a(work.hero_job)} who "
                f"{work.plot}.", "where does {n}'s {title} take place")
    about = {
        "collection of poems": f"The poems describe the streets and people of {town}.",
        "painting": f"It shows the river at {town} in the early morning.",
        "photo series": f"It records daily life in {town} over one year.",
        "history book": f"It tells the story of {town} from its founding.",
        "field guide": f"It describes the wild plants found around {town}.",
    }[work.kind]
    return about, "which town is {title} by {n} about"


def works(person: Person, work: Work, rank: int, world: World, style_seed: int) -> Passage:
    """Both works of one person are written with the same ``style_seed``, so that their key
    sentences have the same wording (see person_passages)."""
    style = random.Random(style_seed)
    pr, n, r = pronouns(person), person.name, subject(person, style)
    which = "best known" if rank == 0 else "second major"
    about, where_question = work_subject(work)
    key = style.choice([
        f"{r['Sposs']} {which} {work.kind} is {work.title}, {work.verb} in {work.year}. "
        f"{about}",
        f"The {which} {work.kind} by {person.surname}, {work.title}, was {work.verb} in "
        f"{work.year}. {about}",
    ])
    famous = "most famous" if rank == 0 else "second"
    facts = [
        ([f"what is the {famous} {work.kind} by {n}", f"name the {famous} {work.kind} of {n}"],
         work.title),
        ([f"when did {n} release {work.title}", f"in which year did {work.title} by {n} appear"],
         str(work.year)),
        ([where_question.format(n=n, title=work.title)], work.setting.name),
    ]
    extra = [f"Reviewers praised the {work.kind} for its plain style.",
             f"The {work.kind} was slow to find an audience but is now widely known.",
             f"{pr['P']} worked on it for several years."]
    return Passage(n, [key], facts, extra + person_background(person, world, style),
                   style_seed=style_seed)


def designs(person: Person, structure: Structure, rank: int, world: World, rng) -> Passage:
    pr, n, r = pronouns(person), person.name, subject(person, rng)
    if rank == 0:
        key = rng.choice([
            f"{r['Sposs']} best known building is the {structure.name} in "
            f"{structure.town.name}, completed in {structure.completed}.",
            f"The design for which {r['s']} is chiefly remembered is the {structure.name}, "
            f"finished in {structure.completed} after {structure.completed - structure.started} "
            f"years of building.",
        ])
        facts = [([f"what is the most famous design of {n}", f"what building is {n} known for"],
                  structure.name)]
    else:
        key = (f"{r['Sposs']} later designs include the {structure.name} in "
               f"{structure.town.name}, completed in {structure.completed}.")
        facts = [([f"name a later building by {n}", f"what else did {n} design"],
                  structure.name)]
    extra = [f"{pr['P']} preferred {structure.material} to any other material.",
             "Critics called the design bold and practical.",
             f"{pr['P']} designed a number of smaller houses and schools as well."]
    return Passage(n, [key], facts, extra + person_background(person, world, rng))


def honours(person: Person, world: World, rng) -> Passage:
    pr, n, r = pronouns(person), person.name, subject(person, rng)
    key = rng.choice([
        f"In {person.prize_year} {r['s']} received the {person.prize} from the "
        f"{person.prize_org}.",
        f"{r['S']} was given the {person.prize} by the {person.prize_org} in "
        f"{person.prize_year}, the first of several honours.",
    ])
    facts = [
        ([f"what award did {n} win", f"which prize was given to {n}",
          f"what honour went to {n}"], person.prize),
        ([f"when did {n} win the {person.prize}", f"in what year was {n} honoured"],
         str(person.prize_year)),
        ([f"who honoured {n}", f"which body awarded {n} the {person.prize}"], person.prize_org),
    ]
    extra = [f"The honour came with a small sum of money, which {pr['p']} gave to a local "
             f"school.",
             f"{pr['P']} travelled to the ceremony with {pr['poss']} family.",
             "Newspapers reported the news on their front pages."]
    return Passage(n, [key], facts, extra + person_background(person, world, rng))


def family(person: Person, world: World, rng) -> Passage:
    pr, n, r = pronouns(person), person.name, subject(person, rng)
    sentences, facts = [], []
    sibling = person.sibling
    relation = pronouns(sibling)["sibling"]
    if person.spouse is not None:
        spouse = person.spouse
        sentences.append(
            f"In {person.married} {r['s']} married {spouse.name}, {a(spouse.profession[0])} "
            f"from {spouse.birthplace.name}.")
        word = "wife" if spouse.gender == "f" else "husband"
        facts.append(([f"who was {n} married to", f"who did {n} wed",
                       f"who was the {word} of {n}"], spouse.name))
        facts.append(([f"when did {n} get married", f"what year did {n} wed"],
                      str(person.married)))
    opener = pr["Poss"] if sentences else r["Sposs"]
    sentences.append(f"{opener} {relation} {sibling.name} became "
                     f"{a(sibling.profession[0])}.")
    facts.append(([f"who was {n}'s {relation}", f"what was the name of {n}'s {relation}"],
                  sibling.name))
    extra = [f"The family kept a house near {person.birthplace.name} for many years.",
             f"{pr['P']} had {rng.choice(['no', 'two', 'three', 'four'])} children."]
    return Passage(n, sentences, facts, extra + person_background(person, world, rng))


def death(person: Person, world: World, rng) -> Passage:
    pr, n, r = pronouns(person), person.name, subject(person, rng)
    age = person.died - person.born
    key = rng.choice([
        f"{r['S']} spent {pr['poss']} last years in {person.deathplace.name}, where "
        f"{pr['p']} died in {person.died} at the age of {age}.",
        f"{r['S']} died in {person.deathplace.name} in {person.died}, aged {age}.",
    ])
    facts = [
        ([f"where did {n} die", f"where did {n} spend {pr['poss']} final years",
          f"in which town did {n} pass away"], person.deathplace.name),
        ([f"when did {n} die", f"what year did {n} pass away"], str(person.died)),
        ([f"how old was {n} when {pr['p']} passed away", f"how old did {n} live to be"],
         str(age)),
    ]
    extra = [f"A street in {person.birthplace.name} was later named after {pr['obj']}.",
             f"{pr['Poss']} grave is marked by a plain stone.",
             f"Many of {pr['poss']} papers went to the {person.school}."]
    return Passage(n, [key] + relative_sentence(person, rng), facts,
                   extra + person_background(person, world, rng))


def person_passages(person: Person, world: World, rng) -> list:
    passages = [writer(person, world, rng)
                for writer in (early_life, education, career, honours, family, death)]
    style_seed = rng.randrange(2 ** 32)
    for rank, work in enumerate(person.works):
        passages.append(works(person, work, rank, world, style_seed))
        if rank > 0:
            # The second work's passage is the first one with the other work's facts: a
            # near-duplicate, the hardest kind of negative.
            passages[-1].twin = passages[-2]
    for rank, structure in enumerate(person.designs[:2]):
        passages.append(designs(person, structure, rank, world, rng))
    return passages


# --- towns ----------------------------------------------------------------------------------


def town_background(town: Town, rng) -> list:
    background = [
        f"The old centre is built around a "
        f"{rng.choice(['small square with a fountain', 'long market place', 'small harbour'])}.",
        f"The town is linked by {rng.choice(['road and rail', 'a ferry', 'a branch railway'])} "
        f"to {town.neighbour.name}.",
        f"Most of the old houses are built of {rng.choice(['stone', 'brick', 'timber'])}.",
        f"The surrounding countryside is known for its "
        f"{rng.choice(['farms and woods', 'orchards', 'sheep', 'lakes', 'marshes'])}.",
        f"A market is held every {rng.choice(WEEKDAYS)}.",
        f"The museum of local history opened in {rng.randint(1880, 2010)}.",
    ]
    # Other entities named here make this passage a hard negative for questions about them.
    if town.natives:
        native = rng.choice(town.natives)
        background.append(f"The {native.profession[0]} {native.name} was born in the town.")
    for structure in town.structures[1:]:
        background.append(f"Visitors also come to see the {structure.name}.")
    for festival in town.festivals[1:2]:
        background.append(f"The {festival.name} is held in the town every {festival.month}.")
    for company in town.companies[1:2]:
        background.append(f"The {company.name} has had a workshop here since {company.founded}.")
    return background


def town_life(town: Town) -> list:
    """The town's firm and festival by name: hard negatives for questions about them."""
    sentences = []
    for company in town.companies[:1]:
        sentences.append(f"The largest employer is the {company.name}.")
    for festival in town.festivals[:1]:
        sentences.append(f"Every {festival.month} the town hosts the {festival.name}.")
    return sentences


def town_passages(town: Town, world: World, rng) -> list:
    t = town.name

    def the_town():
        return t if rng.random() < ENTITY_NAME_SHARE else "the town"

    passages = [
        Passage(t, [
            f"{t} is a town in the province of {town.region}, on the {town.bank} bank of the "
            f"{town.river} river. It lies about {town.distance_km} kilometres from "
            f"{town.neighbour.name}."],
            [([f"what river is {t} on", f"which river flows through {t}"], town.river),
             ([f"what province is {t} in", f"which region is {t} located in"], town.region)],
            town_background(town, rng)),
        Passage(t, [
            rng.choice([f"{capitalised(the_town())} was founded in {town.founded} by "
                        f"{town.founder}, a merchant who built a mill on the {town.river}.",
                        f"According to the old records, {town.founder} established a market "
                        f"on the site in {town.founded}."])],
            [([f"when was {t} founded", f"when was the town of {t} set up",
               f"when did {t} become a town"], str(town.founded)),
             ([f"who founded {t}", f"who started the town of {t}"], town.founder)],
            town_background(town, rng)),
        Passage(t, [
            f"At the census of {town.census_year}, {the_town()} had {town.population} "
            f"inhabitants. Its wealth was built on {town.industry}."] + town_life(town),
            [([f"what is the population of {t}", f"how many people live in {t}"],
              town.population),
             ([f"what is {t} famous for", f"what industry made {t} rich"], town.industry)]
            + [([f"what is the biggest employer in {t}",
                 f"which firm employs the most people in {t}"], company.name)
               for company in town.companies[:1]],
            town_background(town, rng)),
    ]
    if town.structures:
        landmark = town.structures[0]
        passages.append(Passage(t, [
            f"The best known landmark of {the_town()} is the {landmark.name}, completed in "
            f"{landmark.completed} to plans by {landmark.designer.name}."],
            [([f"what is the most famous sight in {t}", f"what should you see in {t}"],
              landmark.name)],
            town_background(town, rng)))
    return passages


# --- companies, buildings, festivals, books -------------------------------------------------


def company_passages(company: Company, world: World, rng) -> list:
    c = company.name
    background = [
        f"At its peak the firm employed about {rng.randint(2, 90) * 10} people.",
        "Its early account books survive in the town archive.",
        f"The firm was known for {rng.choice(FIRM_REPUTATIONS)}.",
        f"Its goods were sold across the province of {company.town.region}.",
        f"The firm's sign shows a {rng.choice(['ship', 'bell', 'star', 'tree', 'key'])}.",
        f"A strike in {rng.randint(company.founded + 5, LAST_YEAR)} closed the works for "
        f"{rng.randint(2, 9)} weeks.",
        f"The firm opened a branch in {rng.choice(world.towns).name} in "
        f"{rng.randint(company.founded + 3, LAST_YEAR)}.",
    ]
    if company.staff:
        worker = rng.choice(company.staff)
        background.append(f"The {worker.profession[0]} {worker.name} once worked for it as "
                          f"{a(worker.role)}.")
    passages = [
        Passage(c, [
            f"{capitalised(mention(c, 'firm', rng))} was founded in {company.founded} in "
            f"{company.town.name} by {company.founder.name}. It began as a small workshop "
            f"making {company.product}."],
            [([f"who founded the {c}", f"who started the {c}", f"who set up the {c}"],
              company.founder.name),
             ([f"when was the {c} established", f"what year did the {c} open"],
              str(company.founded)),
             ([f"where was the {c} started"], company.town.name)],
            background),
        Passage(c, [
            f"Since {company.hq_year} {mention(c, 'firm', rng)} has had its head office in "
            f"{company.hq_town.name}. It is best known for its {company.product}."],
            [([f"where is the {c} based", f"where are the headquarters of the {c}"],
              company.hq_town.name),
             ([f"what does the {c} make", f"what products does the {c} produce"],
              company.product)],
            background),
    ]
    if company.buyer is not None:
        passages.append(Passage(c, [
            f"In {company.sold} {mention(c, 'firm', rng)} was bought by the "
            f"{company.buyer.name}, which kept the old name for its {company.product}."],
            [([f"who bought the {c}", f"which company took over the {c}"], company.buyer.name),
             ([f"when was the {c} sold", f"in what year did the {c} change owners"],
              str(company.sold))],
            background))
    return passages


def structure_passages(structure: Structure, world: World, rng, style_seed: int) -> list:
    """The buildings of one town share a ``style_seed`` for their wording (while ``rng`` draws
    their facts), so "Kessat Lighthouse" and "Kessat Market Hall" get near-duplicate
    passages."""
    s = structure.name
    # The generic word is not the kind, so that "bridge" in a question points to the title.
    kind = "structure" if structure.kind in ("Bridge", "Tower", "Lighthouse") else "building"
    designer = structure.designer
    style = random.Random(style_seed)
    background = [
        f"The {kind} stands close to the "
        f"{rng.choice(['old centre', 'river', 'harbour', 'main square'])}.",
        f"It is open to visitors {rng.choice(['on most days', 'in summer', 'at weekends'])}.",
        f"Postcards of the {kind} were popular in the years after it opened.",
        f"The {kind} appears in paintings by {any_painter(world, rng).name}.",
        f"It cost about {rng.randint(20, 900)} thousand crowns to build.",
        f"In {rng.randint(structure.completed + 1, LAST_YEAR)} "
        f"{rng.choice(['electric lights were', 'a clock was', 'a lift was'])} added.",
        f"Its {rng.choice(['windows', 'doors', 'roof tiles'])} were replaced in "
        f"{rng.randint(structure.completed + 1, LAST_YEAR)}.",
        f"About {rng.randint(5, 300)} thousand people visit it each year.",
        f"A small exhibition inside tells the story of its "
        f"{rng.choice(['construction', 'builders', 'first years'])}.",
    ]
    return [
        Passage(s, [style.choice([
            f"{capitalised(mention(s, kind, style))} was built between {structure.started} and "
            f"{structure.completed} to plans by the {designer.profession[0]} {designer.name}.",
            f"Work on {mention(s, kind, style)} began in {structure.started} and ended in "
            f"{structure.completed}; the design was by {designer.name}."])],
            [([f"who designed the {s}", f"who was the architect of the {s}"], designer.name),
             ([f"when was the {s} finished", f"when did the {s} open"],
              str(structure.completed))],
            background, style_seed),
        Passage(s, [
            f"{capitalised(mention(s, kind, style))} is {structure.size_m} metres "
            f"{structure.dimension} and is made of {structure.material}."],
            [([f"how {structure.dimension} is the {s}", f"what is the size of the {s}"],
              f"{structure.size_m} metres"),
             ([f"what material was used for the {s}", f"what is the {s} built from"],
              structure.material)],
            background, style_seed + 1),
        Passage(s, [style.choice([
            f"In {structure.damaged} {mention(s, kind, style)} was badly damaged by "
            f"{structure.disaster}. It was restored in {structure.restored}.",
            f"{capitalised(mention(s, kind, style))} was damaged by {structure.disaster} in "
            f"{structure.damaged} and repaired by {structure.restored}."])],
            [([f"when was the {s} damaged", f"in what year was the {s} hit by disaster"],
              str(structure.damaged)),
             ([f"when was the {s} repaired", f"when did the {s} reopen after restoration"],
              str(structure.restored))],
            background, style_seed + 2),
    ]


def festival_passages(festival: Festival, world: World, rng) -> list:
    f = festival.name
    town = festival.town
    background = [
        f"Visitors come from all over the province of {town.region} for the event.",
        f"Most shows are free and take place {rng.choice(['outdoors', 'by the river'])}.",
        f"The event closes with a "
        f"{rng.choice(['parade through the old town', 'firework display', 'boat race'])}.",
        "Local schools take part every year.",
        f"About {rng.randint(2, 60)},000 people attended in {rng.randint(1990, LAST_YEAR)}.",
        f"Each year's poster is designed by a local "
        f"{rng.choice(['artist', 'student', 'school class'])}.",
        f"In {rng.randint(festival.first_held + 1, LAST_YEAR)} the event was "
        f"{rng.choice(FESTIVAL_CHANGES)}.",
        f"Tickets for the evening shows sell out {rng.randint(2, 9)} weeks ahead.",
        f"Since {rng.randint(festival.first_held + 1, LAST_YEAR)} a children's programme has "
        f"been part of the event.",
    ]
    for structure in town.structures[:1]:
        background.append(f"The opening night takes place at the {structure.name}.")
    return [
        Passage(f, [
            f"{capitalised(mention(f, 'event', rng))} is held every {festival.month} in "
            f"{town.name}. It was first held in {festival.first_held}."],
            [([f"when does the {f} take place", f"what time of year is the {f}"],
              festival.month),
             ([f"when did the {f} start", f"in what year did the {f} begin"],
              str(festival.first_held))],
            background),
        Passage(f, [
            f"{capitalised(mention(f, 'event', rng))} was started by the "
            f"{festival.founder.profession[0]} {festival.founder.name}, who wanted to bring "
            f"more visitors to the town."],
            [([f"who started the {f}", f"whose idea was the {f}"], festival.founder.name)],
            background),
        Passage(f, [
            f"The main prize of {mention(f, 'event', rng)} is the {festival.prize}, given "
            f"each year by a jury of five."],
            [([f"what is the top award at the {f}", f"what do winners at the {f} receive"],
              festival.prize)],
            background),
    ]


def work_background(work: Work, rng) -> list:
    author = work.author
    later = min(work.year + rng.randint(15, 80), LAST_YEAR)
    dedicatee = rng.choice(author.siblings + ([author.spouse] if author.spouse else []))
    return [
        f"The {work.kind} has been translated into "
        f"{rng.choice(['several', 'many', 'a dozen', 'few'])} languages.",
        rng.choice({
            "novel": ["Many readers know the opening lines by heart.",
                      "The first printing sold out within a month."],
            "play": ["It is still often staged by touring companies.",
                     "The first run lasted only a few nights."],
            "opera": ["The overture is often played on its own.",
                      "The first run was cut short by a fire in the theatre."],
        }[work.kind]),
        f"A new {'edition' if work.kind == 'novel' else 'production'} appeared in {later}.",
        rng.choice([f"Early critics were divided, but {author.surname}'s reputation grew with "
                    f"it.",
                    "It was an instant success.",
                    "It was poorly received at first."]),
        f"It remains the best known work set in {work.setting.name}.",
        f"{author.surname} dedicated it to {dedicatee.name}.",
        f"The manuscript is kept in the "
        f"{rng.choice(['public library', 'town archive', 'university library'])} of "
        f"{rng.choice([author.birthplace, author.deathplace]).name}.",
        f"A {rng.choice(['film', 'radio'] if later >= 1930 else ['stage', 'puppet'])} version "
        f"was made in {min(later + rng.randint(1, 30), LAST_YEAR)}.",
    ]


def work_passages(work: Work, world: World, rng) -> list:
    w = work.title
    author = work.author
    verb = {"novel": "wrote", "play": "wrote", "opera": "composed"}[work.kind]
    if work.kind == "novel":
        first_shown = f"published in {work.year} by the {work.publisher.name}"
    else:
        first_shown = f"performed in {work.year} in {author.work_town.name}"
    return [
        Passage(w, [
            f"{w} is {a(work.kind)} by the {author.profession[0]} {author.name}, first "
            f"{first_shown}."
            if rng.random() < ENTITY_NAME_SHARE else
            f"The {work.kind} is the work of the {author.profession[0]} {author.name}; it was "
            f"first {first_shown}."],
            [([f"who {verb} {w}", f"who is the author of {w}"], author.name),
             ([f"when did {w} come out", f"what year did {w} appear"], str(work.year))],
            work_background(work, rng)),
        Passage(w, [
            f"The {work.kind} is set in {work.setting.name} and follows {work.hero}, "
            f"{a(work.hero_job)} who {work.plot}."],
            [([f"who is the main character of {w}", f"who is the hero of {w}"], work.hero),
             ([f"where does {w} take place", f"what is the setting of {w}"],
              work.setting.name)],
            work_background(work, rng)),
    ]


def all_passages(world: World, rng) -> list:
    passages = []
    for person in world.people:
        passages.extend(person_passages(person, world, rng))
    for town in world.towns:
        passages.extend(town_passages(town, world, rng))
        style_seed = rng.randrange(2 ** 32)
        for structure in town.structures:
            passages.extend(structure_passages(structure, world, rng, style_seed))
    for company in world.companies:
        passages.extend(company_passages(company, world, rng))
    for festival in world.festivals:
        passages.extend(festival_passages(festival, world, rng))
    for work in world.works:
        passages.extend(work_passages(work, world, rng))
    return passages


# --------------------------------------------------------------------------------------------
# Text assembly and length.
# --------------------------------------------------------------------------------------------

TOKEN = re.compile(r"[A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]")

# Capitalised words that the BERT vocabulary keeps whole (sentence openers and name parts).
COMMON_CAPITALISED = {w.lower() for w in (
    "The In It He She His Her After Born According At Since Work Reviewers Critics Friends "
    "Later Much Colleagues Newspapers Many Most Visitors Local Postcards Its Every Each About "
    "There Among Early University School Academy Society Arts Sciences City Council Prize "
    "Medal Award Festival Fair Bridge Tower Library Lighthouse Observatory Opera House Market "
    "Hall Railway Station Company Shipping Glassworks Ironworks Mills Brewery Printing "
    "Instrument Makers Pottery Chemical Works Rail Lantern Harvest Music Film Boat Poetry Folk "
    "Dance Kite Theatre Winter Light Marta Vera Rosa Ida Alma Clara Anton Oskar Felix Otto "
    "Emil A".split()
    + MONTHS + WEEKDAYS + TITLE_ADJECTIVES + TITLE_NOUNS + PRIZE_ADJECTIVES + PRIZE_NOUNS)}


def estimated_pieces(text: str) -> int:
    """A tokenizer-free estimate of BERT word pieces: common words are one piece, invented
    capitalised names about one piece per three letters, numbers one piece per four digits.
    It is a little low on average; the tests measure the real lengths."""
    count = 0
    for token in TOKEN.findall(text):
        if token.isdigit():
            count += (len(token) + 3) // 4
        elif token[0].isupper() and token.lower() not in COMMON_CAPITALISED:
            count += max(1, round(len(token) / 3))
        else:
            count += 1
    return count


def assemble(passage: Passage, rng) -> str:
    """Key sentences first (the answer must not be cut), then background sentences in random
    order until the passage reaches its length target."""
    if passage.style_seed is not None:
        rng = random.Random(passage.style_seed)
    target = rng.randint(MIN_PIECES + 6, MAX_PIECES - 6)
    sentences = list(passage.sentences)
    background = list(passage.background)
    rng.shuffle(background)

    def length(parts):
        return estimated_pieces(passage.title) + estimated_pieces(" ".join(parts)) + 3

    for sentence in background:
        if length(sentences) >= target:
            break
        if length(sentences + [sentence]) <= MAX_PIECES:
            # Background goes anywhere after the opening sentence, as in an encyclopedia.
            sentences.insert(rng.randint(1, len(sentences)), sentence)
    return " ".join(sentences)


# --------------------------------------------------------------------------------------------
# Records and output.
# --------------------------------------------------------------------------------------------


def choose_question(passage: Passage, text: str, rng, used_questions,
                    not_answer: str | None = None) -> tuple | None:
    """A (question, answer) for this passage: a question not used before, that does not give
    the answer away, about an answer written in the text (other than ``not_answer``)."""
    options = [(wording, answer) for wordings, answer in passage.facts for wording in wordings]
    rng.shuffle(options)
    for wording, answer in options:
        question = q(wording)
        if (question not in used_questions and answer in text and answer != not_answer
                and answer.lower() not in question):
            return question, answer
    return None


def make_records(seed: int = SEED) -> tuple[list, list]:
    """(train, val): one record per passage, shuffled; the questions are all different."""
    rng = random.Random(seed)
    world = build_world(rng)
    records = []
    used_questions = set()
    for passage in all_passages(world, rng):
        if passage.twin is not None:
            text = passage.twin.text.replace(passage.twin.sentences[0], passage.sentences[0])
        else:
            text = assemble(passage, rng)
        passage.text = text
        choice = choose_question(passage, text, rng, used_questions)
        if choice is None:
            continue
        # As in NQ, some passages answer two questions: the KB then holds exact duplicates.
        second = (choose_question(passage, text, rng, used_questions | {choice[0]}, choice[1])
                  if rng.random() < SECOND_QUESTION_SHARE else None)
        for question, answer in filter(None, (choice, second)):
            used_questions.add(question)
            records.append({"question": question, "answers": [answer],
                            "gold_context": {"title": passage.title, "text": text}})
    if len(records) < NUM_TRAIN + NUM_VAL:
        raise RuntimeError(f"only {len(records)} records; enlarge the world")
    rng.shuffle(records)
    return records[:NUM_TRAIN], records[NUM_TRAIN:NUM_TRAIN + NUM_VAL]


def write_json(records: list, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(records, f, indent=1, ensure_ascii=False)
        f.write("\n")


def generate(out_dir: Path = DEFAULT_OUT, seed: int = SEED) -> tuple[Path, Path]:
    """Write nq-train.json and nq-val.json into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    train, val = make_records(seed)
    train_path, val_path = out_dir / "nq-train.json", out_dir / "nq-val.json"
    write_json(train, train_path)
    write_json(val, val_path)
    return train_path, val_path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output folder (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
