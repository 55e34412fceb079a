"""The end-to-end check's text classification task, made here (nothing is downloaded), seeded.

Four topics (sport, food, weather, technology), each with its own words, mixed into sentences of shared
filler words. A text of topic ``c`` holds at least one word of ``c`` and always more words of ``c`` than of
any other topic (it may mention others), so a bag-of-words model can learn it; lengths vary from one word to
over a hundred, so a model that averages over padding, or only reads the start, does badly. Texts mix upper
and lower case, punctuation, quotes, commas and line breaks (the CSV needs quoting), and a few misspellings
that occur once (``<unk>`` once ``min_freq`` is 2). Which topic gets which label, and every text, comes from
the seed (see :mod:`grader.grading_key`). Topics are not balanced, so macro-F1 and accuracy differ.
"""

from __future__ import annotations

import csv
import io
import math
import random
from dataclasses import dataclass
from pathlib import Path

TOPICS = (
    (
        "goal match team coach league striker referee stadium season penalty tournament keeper dribble "
        "champions football midfield transfer fans kickoff scored offside trophy sprint athletes ⚽"
    ),
    (
        "recipe garlic oven bake soup spicy noodles dessert flavour chef café crème tomato simmer pastry "
        "butter roast salad dumplings curry sauce bread lunch delicious 🍜"
    ),
    (
        "rain storm forecast sunny cloudy humid breeze thunder snow drizzle temperature frost umbrella "
        "hurricane fog windy heatwave degrees showers lightning chilly monsoon sleet warm ☔"
    ),
    (
        "laptop software update battery server keyboard python browser wifi pixel startup gadget download "
        "app bug smartphone cloud password router chip robot coding screen firmware 💻"
    ),
)
_FILLER_WORDS = (
    "the a an and or but i we you they it this that these was is are were be been so very just really my our "
    "your their with about after before again people everyone new old good bad great time day week today "
    "yesterday tomorrow still never always maybe honestly think know said told heard saw here there what "
    "when how all some more most much many other one two three first last next long little big same own "
    "city friends family morning evening night weekend over under into from for of to in on at by"
)
FILLERS = tuple(_FILLER_WORDS.split())
PUNCTUATION = (",", ",", ".", "!", "?", ";", ":", " -", "...")
#: How often the topics come up: imbalanced on purpose.
SHARES = (0.4, 0.3, 0.2, 0.1)
LONGEST = 140


@dataclass(frozen=True)
class Task:
    """A drawn task: the training rows the student's code gets, and held-out rows it never sees."""

    train: list[tuple[str, int]]
    held_out: list[tuple[str, int]]


def generate(seed: int, train: int, held_out: int) -> Task:
    """``train + held_out`` rows drawn from ``seed`` alone, split into the two parts."""
    rng = random.Random(seed)
    labels = list(range(len(TOPICS)))
    rng.shuffle(labels)  # which label each topic gets
    words = [topic.split() for topic in TOPICS]
    rows = []
    for _ in range(train + held_out):
        topic = rng.choices(range(len(TOPICS)), weights=SHARES)[0]
        rows.append((_text(rng, topic, words), labels[topic]))
    return Task(rows[:train], rows[train:])


def _text(rng: random.Random, topic: int, words: list[list[str]]) -> str:
    length = max(1, round(math.exp(rng.uniform(0, math.log(LONGEST)))))
    own = max(1, round(length * rng.uniform(0.08, 0.3)))
    tokens = [rng.choice(words[topic]) for _ in range(own)]
    for _ in range(rng.randrange(own)):  # other topics, always fewer than the text's own
        tokens.append(rng.choice(words[rng.choice([t for t in range(len(words)) if t != topic])]))
    while len(tokens) < length:
        tokens.append(rng.choice(FILLERS) if rng.random() > 0.01 else _misspelling(rng))
    rng.shuffle(tokens)
    return _dress(rng, tokens)


def _misspelling(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(5, 9)))


def _dress(rng: random.Random, tokens: list[str]) -> str:
    """Capitals, punctuation, quotes and line breaks, as people write."""
    out = []
    for index, token in enumerate(tokens):
        roll = rng.random()
        if index == 0 or roll < 0.08:
            token = token.capitalize()
        elif roll < 0.11:
            token = token.upper()
        elif roll < 0.13:
            token = f'"{token}"'
        if rng.random() < 0.12:
            token += rng.choice(PUNCTUATION)
        out.append(token)
        if rng.random() < 0.01:
            out.append("\n")
    return " ".join(out).replace(" \n ", "\n") + rng.choice((".", "!", "?", "", "!!"))


def to_csv(rows: list[tuple[str, int]]) -> str:
    """The rows as the CSV file students read: a ``text,label`` header, fields quoted where needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    return buffer.getvalue()


#: The sample shipped with the stubs (assignments/hw2/sample.csv): the public seed's first rows.
SAMPLE_SEED, SAMPLE_ROWS = 0, 40


def write_sample(path: Path) -> None:
    """Write the sample students get with the stubs (a test keeps the committed one equal to it)."""
    path.write_text(to_csv(generate(SAMPLE_SEED, SAMPLE_ROWS, 0).train), encoding="utf-8")
