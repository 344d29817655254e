#!/usr/bin/env python3
"""Synthetic chat dialogues for acorn's default chat model (acorn-chat-mini).

Everything here is generated from small hand-written tables with a fixed seed, so the
corpus is reproducible bit for bit and carries no third-party text. The domain is narrow on
purpose so that a model of ~11M parameters can answer it coherently and a reader can check
every answer:

  greetings, thanks, goodbyes, "who are you", "what is acorn";
  small arithmetic (a + b and a - b with operands 0..20, times tables 0..12);
  counting ranges, comparing two numbers;
  days of the week and months (after / before, days in a month, month number);
  colours of common things, animal sounds, legs and homes, opposites;
  capitals of 40 countries; simple unit conversions; spelling of common words;
  a polite "I don't know" for anything outside that.

Each dialogue is a list of {"role", "content"} messages (optionally a system message first,
then 1-3 user/assistant turns). Questions vary a lot in wording, casing and punctuation;
answers have one canonical form per question (with a few variants for small talk), which keeps
greedy decoding stable.

Usage:
  python3 make_dialogues.py --n 200000 --seed 1234 --out dialogues.jsonl
  python3 make_dialogues.py --n 5 --show          # print a few rendered dialogues
"""

import argparse
import json
import random

ASSISTANT_NAME = "Acorn"

# ---------------------------------------------------------------- tables

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
MONTH_DAYS = {"January": "31", "February": "28 (29 in a leap year)", "March": "31", "April": "30",
              "May": "31", "June": "30", "July": "31", "August": "31", "September": "30",
              "October": "31", "November": "30", "December": "31"}
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
            "tenth", "eleventh", "twelfth"]

NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                "seventeen", "eighteen", "nineteen", "twenty"]

COLOURS = {  # thing -> (colour, noun phrase for the answer, plural?)
    "the sky": "blue", "grass": "green", "a banana": "yellow", "snow": "white", "coal": "black",
    "a tomato": "red", "an orange": "orange", "a carrot": "orange", "a lemon": "yellow",
    "a strawberry": "red", "the sun": "yellow", "milk": "white", "a frog": "green",
    "a lime": "green", "chocolate": "brown", "a cherry": "red", "an eggplant": "purple",
    "a polar bear": "white", "a crow": "black", "a flamingo": "pink", "a pumpkin": "orange",
    "a leaf": "green", "blood": "red", "the sea": "blue", "a blueberry": "blue",
    "a plum": "purple", "a fire truck": "red", "a school bus": "yellow", "an elephant": "grey",
    "a mouse": "grey", "a cucumber": "green", "a raven": "black", "a swan": "white",
    "a lettuce": "green", "a tree trunk": "brown", "an acorn": "brown", "a cloud": "white",
    "a ruby": "red", "an emerald": "green", "a sapphire": "blue",
}
COLOUR_LIST = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black",
               "white", "grey"]

ANIMALS = {  # animal -> (plural, sound verb phrase, sound word, legs, home)
    "dog": ("dogs", "barks", "woof", 4, "in a house or a kennel"),
    "cat": ("cats", "meows", "meow", 4, "in a house"),
    "cow": ("cows", "moos", "moo", 4, "on a farm"),
    "sheep": ("sheep", "bleats", "baa", 4, "on a farm"),
    "pig": ("pigs", "oinks", "oink", 4, "on a farm"),
    "horse": ("horses", "neighs", "neigh", 4, "in a stable"),
    "duck": ("ducks", "quacks", "quack", 2, "near ponds and lakes"),
    "chicken": ("chickens", "clucks", "cluck", 2, "in a coop"),
    "rooster": ("roosters", "crows", "cock-a-doodle-doo", 2, "on a farm"),
    "owl": ("owls", "hoots", "hoo", 2, "in trees"),
    "lion": ("lions", "roars", "roar", 4, "on the savanna"),
    "snake": ("snakes", "hisses", "hiss", 0, "in grass, forests and deserts"),
    "frog": ("frogs", "croaks", "ribbit", 4, "near ponds"),
    "bee": ("bees", "buzzes", "buzz", 6, "in a hive"),
    "mouse": ("mice", "squeaks", "squeak", 4, "in holes and fields"),
    "donkey": ("donkeys", "brays", "hee-haw", 4, "on a farm"),
    "goat": ("goats", "bleats", "maa", 4, "on farms and hills"),
    "wolf": ("wolves", "howls", "awoo", 4, "in forests"),
    "bird": ("birds", "sings", "tweet", 2, "in a nest"),
    "elephant": ("elephants", "trumpets", "toot", 4, "in Africa and Asia"),
    "spider": ("spiders", "makes no sound", "", 8, "in a web"),
    "ant": ("ants", "makes no sound", "", 6, "in an anthill"),
    "fish": ("fish", "makes no sound", "", 0, "in water"),
    "bear": ("bears", "growls", "grr", 4, "in forests"),
    "monkey": ("monkeys", "chatters", "ooh ooh aah aah", 2, "in trees in the jungle"),
    "turkey": ("turkeys", "gobbles", "gobble gobble", 2, "on a farm"),
}

CAPITALS = {
    "France": "Paris", "Germany": "Berlin", "Italy": "Rome", "Spain": "Madrid",
    "Portugal": "Lisbon", "the United Kingdom": "London", "Ireland": "Dublin",
    "the Netherlands": "Amsterdam", "Belgium": "Brussels", "Switzerland": "Bern",
    "Austria": "Vienna", "Poland": "Warsaw", "Sweden": "Stockholm", "Norway": "Oslo",
    "Denmark": "Copenhagen", "Finland": "Helsinki", "Greece": "Athens", "Turkey": "Ankara",
    "Russia": "Moscow", "Ukraine": "Kyiv", "Egypt": "Cairo", "Kenya": "Nairobi",
    "Nigeria": "Abuja", "South Africa": "Pretoria", "Morocco": "Rabat", "Japan": "Tokyo",
    "China": "Beijing", "India": "New Delhi", "South Korea": "Seoul", "Thailand": "Bangkok",
    "Vietnam": "Hanoi", "Indonesia": "Jakarta", "Australia": "Canberra",
    "New Zealand": "Wellington", "Canada": "Ottawa", "the United States": "Washington, D.C.",
    "Mexico": "Mexico City", "Brazil": "Brasilia", "Argentina": "Buenos Aires", "Peru": "Lima",
    "Chile": "Santiago", "Iceland": "Reykjavik",
}
COUNTRY_ALIASES = {"the United Kingdom": ["the UK", "Britain"], "the United States": ["the USA", "America", "the US"],
                   "the Netherlands": ["Holland"]}

OPPOSITES = {
    "hot": "cold", "big": "small", "up": "down", "fast": "slow", "happy": "sad", "day": "night",
    "open": "closed", "light": "dark", "tall": "short", "old": "young", "wet": "dry",
    "full": "empty", "hard": "soft", "early": "late", "left": "right", "in": "out",
    "yes": "no", "good": "bad", "loud": "quiet", "heavy": "light", "rich": "poor",
    "win": "lose", "start": "finish", "push": "pull", "near": "far", "thick": "thin",
    "clean": "dirty", "strong": "weak", "first": "last", "black": "white",
}

SPELL_WORDS = [
    "cat", "dog", "sun", "moon", "tree", "house", "apple", "water", "happy", "green", "friend",
    "school", "pencil", "garden", "window", "yellow", "purple", "orange", "banana", "flower",
    "rabbit", "turtle", "summer", "winter", "spring", "autumn", "river", "mountain", "ocean",
    "island", "forest", "bread", "cheese", "butter", "coffee", "table", "chair", "kitchen",
    "doctor", "teacher", "music", "number", "letter", "people", "family", "mother", "father",
    "sister", "brother", "little", "because", "beautiful", "together", "tomorrow", "yesterday",
    "today", "morning", "evening", "night", "acorn", "hello", "thanks", "please", "question",
    "answer", "computer", "phone", "keyboard", "orange", "lemon", "tiger", "zebra", "giraffe",
    "penguin", "dolphin", "monkey", "elephant", "chicken", "cloud", "rain", "snow", "wind",
    "storm", "light", "color", "colour", "purple", "seven", "eleven", "twelve", "twenty",
    "hundred", "thousand", "circle", "square", "triangle", "rocket", "planet", "star", "earth",
    "travel", "ticket", "train", "bicycle", "castle", "dragon", "wizard", "pizza", "salad",
    "soup", "sugar", "salt", "pepper", "guitar", "piano", "violin", "paper", "book", "story",
    "quick", "brown", "jumps", "lazy", "small", "large", "simple", "model", "device", "language",
]
SPELL_WORDS = sorted(set(SPELL_WORDS))

# unit conversions: (from singular, from plural, to singular, to plural, factor)
UNITS = [
    ("kilometre", "kilometres", "metre", "metres", 1000),
    ("kilometer", "kilometers", "meter", "meters", 1000),
    ("metre", "metres", "centimetre", "centimetres", 100),
    ("meter", "meters", "centimeter", "centimeters", 100),
    ("centimetre", "centimetres", "millimetre", "millimetres", 10),
    ("kilogram", "kilograms", "gram", "grams", 1000),
    ("litre", "litres", "millilitre", "millilitres", 1000),
    ("liter", "liters", "milliliter", "milliliters", 1000),
    ("hour", "hours", "minute", "minutes", 60),
    ("minute", "minutes", "second", "seconds", 60),
    ("day", "days", "hour", "hours", 24),
    ("week", "weeks", "day", "days", 7),
    ("year", "years", "month", "months", 12),
    ("dozen", "dozen", "item", "items", 12),
    ("foot", "feet", "inch", "inches", 12),
]

OOD_QUESTIONS = [
    "What is the stock price of Apple today?", "Who won the football match last night?",
    "Can you write me a poem about the sea?", "What is the meaning of life?",
    "How do I fix my car engine?", "What will the weather be tomorrow?",
    "Can you write some Python code for me?", "Who is the president of France?",
    "What is quantum mechanics?", "How do I bake sourdough bread?",
    "Tell me the news.", "What is the square root of 2?", "How far away is the moon?",
    "Who wrote Hamlet?", "Translate this into German: good morning.", "What is 345 times 678?",
    "Can you book me a flight to Rome?", "What is the population of China?",
    "Explain how a computer chip is made.", "What year did the Second World War end?",
    "Recommend a good movie.", "What is the best programming language?",
    "How do I lose weight?", "What is bitcoin worth?", "Who invented the telephone?",
    "Summarize this article for me.", "What is your opinion on politics?",
    "How many people live in Tokyo?", "What is the chemical formula of caffeine?",
    "Write a story about a dragon.", "What is the speed of light?", "Can you play a song?",
    "What time is it?", "What is today's date?", "Where am I right now?",
    "Can you send an email for me?", "What is the capital of Atlantis?",
    "What is 1000 plus 2500?", "What is the integral of x squared?",
    "How do airplanes fly?", "What is the tallest building in the world?",
    "What should I cook for dinner?", "Is it going to rain in London?",
    "Who is the richest person in the world?", "What is the GDP of Germany?",
    "Can you solve this equation: 3x + 7 = 22?", "What does DNA stand for?",
    "Give me medical advice about my headache.", "What is the password to my wifi?",
    "What is the best phone to buy?", "How old is the universe?",
]
OOD_TOPICS = ["history", "politics", "the news", "sports", "music", "medicine", "law", "cooking",
              "programming", "physics", "chemistry", "finance", "movies", "video games",
              "philosophy", "the stock market", "cars", "fashion", "poetry", "geography"]

SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are Acorn, a small and friendly assistant.",
    "You are a friendly assistant. Answer briefly.",
    "You are a helpful, concise assistant running on the user's device.",
    "Be helpful and brief.",
    "You are Acorn. Keep answers short and clear.",
    "You are a kind assistant for children.",
    "Answer the user's questions.",
]

CAPABILITIES = ("I can help with simple arithmetic, counting, days and months, colours, animals, "
                "opposites, capitals of countries, unit conversions and spelling.")
DONT_KNOW = [
    "I'm sorry, I don't know about that. " + CAPABILITIES,
    "Sorry, that is outside what I know. " + CAPABILITIES,
    "I'm not able to answer that, sorry. " + CAPABILITIES,
]
ACORN_DESC = "acorn is a small runtime that runs language models on your own device."

# ---------------------------------------------------------------- surface variation


QUESTION_WORDS = {"what", "what's", "which", "how", "who", "where", "when", "can", "do", "is", "tell",
                  "add", "subtract", "multiply", "compute", "count", "spell", "please", "convert",
                  "name", "list", "give", "take", "mix", "capital", "opposite", "if", "explain"}


def vary(rng, q):
    """Perturb casing, punctuation and politeness of a question."""
    r = rng.random()
    if r < 0.12:
        q = q.lower()
    elif r < 0.15:
        q = q.upper()
    if q.endswith("?") or q.endswith("."):
        r = rng.random()
        if r < 0.2:
            q = q[:-1]
        elif r < 0.25:
            q = q[:-1] + "??"
        elif r < 0.28:
            q = q[:-1] + "?!"
    if rng.random() < 0.12:
        pre = rng.choice(["Hey, ", "Hi! ", "Hello, ", "Quick question: ", "Um, ", "So, ",
                          "Okay, ", "Hey there. ", "Excuse me, ", "Question: "])
        first = q.split(" ", 1)[0].strip("?,.!").lower()
        if first in QUESTION_WORDS and rng.random() < 0.7:
            q = q[0].lower() + q[1:]
        q = pre + q
    if rng.random() < 0.06 and q[-1:] in "?.!":
        q = q + rng.choice([" Thanks!", " Please.", " Thank you.", " :)"])
    if rng.random() < 0.03:
        q = "  " + q + " "
    return q


def pick(rng, templates, **kw):
    return rng.choice(templates).format(**kw)


# ---------------------------------------------------------------- skills
# Each returns (question, answer).

def sk_arith(rng):
    kind = rng.random()
    if kind < 0.4:
        a, b = rng.randint(0, 20), rng.randint(0, 20)
        A, B = (str(a), str(b)) if rng.random() < 0.85 else (NUMBER_WORDS[a], NUMBER_WORDS[b])
        q = pick(rng, ["What is {a} plus {b}?", "What's {a} + {b}?", "{a} + {b} = ?", "{a}+{b}?",
                       "Add {a} and {b}.", "What do you get if you add {a} and {b}?",
                       "Can you add {a} and {b}?", "How much is {a} plus {b}?", "Compute {a} + {b}.",
                       "What is the sum of {a} and {b}?", "{a} plus {b}?", "what is {a}+{b}",
                       "Please calculate {a} plus {b}.", "If I have {a} apples and get {b} more, how many do I have?"],
                 a=A, b=B)
        if "apples" in q:
            return q, f"You have {a + b} apples."
        return q, f"{a} plus {b} is {a + b}."
    if kind < 0.7:
        a = rng.randint(0, 20)
        b = rng.randint(0, a)
        A, B = (str(a), str(b)) if rng.random() < 0.85 else (NUMBER_WORDS[a], NUMBER_WORDS[b])
        q = pick(rng, ["What is {a} minus {b}?", "What's {a} - {b}?", "{a} - {b} = ?", "{a}-{b}?",
                       "Subtract {b} from {a}.", "What is {b} subtracted from {a}?",
                       "How much is {a} minus {b}?", "Compute {a} - {b}.", "{a} minus {b}?",
                       "what is {a}-{b}", "Take {b} away from {a}.",
                       "If I have {a} apples and eat {b}, how many are left?"], a=A, b=B)
        if "apples" in q:
            return q, f"You have {a - b} apples left."
        return q, f"{a} minus {b} is {a - b}."
    a, b = rng.randint(0, 12), rng.randint(0, 12)
    A, B = (str(a), str(b)) if rng.random() < 0.85 else (NUMBER_WORDS[a], NUMBER_WORDS[b])
    q = pick(rng, ["What is {a} times {b}?", "What's {a} * {b}?", "{a} x {b} = ?", "{a}*{b}?",
                   "Multiply {a} by {b}.", "What is {a} multiplied by {b}?", "How much is {a} times {b}?",
                   "Compute {a} * {b}.", "{a} times {b}?", "what is {a}x{b}",
                   "What is the product of {a} and {b}?"], a=A, b=B)
    return q, f"{a} times {b} is {a * b}."


def sk_count(rng):
    if rng.random() < 0.6:
        a = rng.randint(0, 15)
        b = a + rng.randint(2, 6)
        q = pick(rng, ["Count from {a} to {b}.", "Can you count from {a} to {b}?", "count {a} to {b}",
                       "Please count from {a} up to {b}.", "List the numbers from {a} to {b}."], a=a, b=b)
        return q, ", ".join(str(i) for i in range(a, b + 1)) + "."
    a, b = rng.sample(range(0, 100), 2)
    if rng.random() < 0.5:
        q = pick(rng, ["Which is bigger, {a} or {b}?", "Which number is larger: {a} or {b}?",
                       "Is {a} bigger than {b}?", "Which is greater, {a} or {b}?"], a=a, b=b)
        hi, lo = max(a, b), min(a, b)
        return q, f"{hi} is bigger than {lo}."
    q = pick(rng, ["Which is smaller, {a} or {b}?", "Which number is less: {a} or {b}?",
                   "Is {a} smaller than {b}?"], a=a, b=b)
    hi, lo = max(a, b), min(a, b)
    return q, f"{lo} is smaller than {hi}."


def sk_days(rng):
    r = rng.random()
    if r < 0.35:
        i = rng.randrange(7)
        d = DAYS[i]
        q = pick(rng, ["What day comes after {d}?", "What comes after {d}?", "Which day is after {d}?",
                       "What is the day after {d}?", "If today is {d}, what day is tomorrow?",
                       "what day follows {d}", "Tell me the day after {d}."], d=d)
        if "tomorrow" in q:
            return q, f"If today is {d}, tomorrow is {DAYS[(i + 1) % 7]}."
        return q, f"The day after {d} is {DAYS[(i + 1) % 7]}."
    if r < 0.55:
        i = rng.randrange(7)
        d = DAYS[i]
        q = pick(rng, ["What day comes before {d}?", "Which day is before {d}?", "What is the day before {d}?",
                       "If today is {d}, what day was yesterday?", "what day is before {d}"], d=d)
        if "yesterday" in q:
            return q, f"If today is {d}, yesterday was {DAYS[(i - 1) % 7]}."
        return q, f"The day before {d} is {DAYS[(i - 1) % 7]}."
    if r < 0.6:
        q = rng.choice(["How many days are in a week?", "How many days does a week have?",
                        "how many days in a week"])
        return q, "There are 7 days in a week."
    if r < 0.65:
        q = rng.choice(["What are the days of the week?", "List the days of the week.",
                        "Name the days of the week."])
        return q, "The days of the week are " + ", ".join(DAYS[:-1]) + " and Sunday."
    if r < 0.7:
        q = rng.choice(["Which days are the weekend?", "What days are the weekend?",
                        "What is the weekend?"])
        return q, "The weekend is Saturday and Sunday."
    i = rng.randrange(12)
    m = MONTHS[i]
    r = rng.random()
    if r < 0.3:
        q = pick(rng, ["What month comes after {m}?", "Which month is after {m}?", "What comes after {m}?",
                       "What is the month after {m}?", "what month follows {m}"], m=m)
        return q, f"The month after {m} is {MONTHS[(i + 1) % 12]}."
    if r < 0.5:
        q = pick(rng, ["What month comes before {m}?", "Which month is before {m}?",
                       "What is the month before {m}?"], m=m)
        return q, f"The month before {m} is {MONTHS[(i - 1) % 12]}."
    if r < 0.7:
        q = pick(rng, ["How many days are in {m}?", "How many days does {m} have?", "how many days in {m}"], m=m)
        return q, f"{m} has {MONTH_DAYS[m]} days."
    if r < 0.85:
        q = pick(rng, ["Which month is {m}?", "What number month is {m}?",
                       "What position is {m} in the year?"], m=m)
        return q, f"{m} is the {ORDINALS[i]} month of the year."
    if r < 0.93:
        q = pick(rng, ["What is the {o} month of the year?", "Which month is the {o} month?",
                       "Name the {o} month."], o=ORDINALS[i])
        return q, f"The {ORDINALS[i]} month of the year is {m}."
    q = rng.choice(["How many months are in a year?", "How many months does a year have?",
                    "how many months in a year"])
    return q, "There are 12 months in a year."


def cap_first(s):
    return s[0].upper() + s[1:]


def sk_colour(rng):
    if rng.random() < 0.85:
        thing, col = rng.choice(list(COLOURS.items()))
        q = pick(rng, ["What colour is {t}?", "What color is {t}?", "What is the colour of {t}?",
                       "What is the color of {t}?", "Which colour is {t}?", "what colour is {t}",
                       "Tell me the colour of {t}."], t=thing)
        return q, f"{cap_first(thing)} is {col}."
    a, b = rng.sample(["red", "yellow", "blue"], 2)
    mix = {frozenset(["red", "yellow"]): "orange", frozenset(["red", "blue"]): "purple",
           frozenset(["yellow", "blue"]): "green"}[frozenset([a, b])]
    q = pick(rng, ["What do you get if you mix {a} and {b}?", "What colour do {a} and {b} make?",
                   "Mix {a} and {b}: what colour is it?", "What color do you get from {a} and {b}?"], a=a, b=b)
    return q, f"Mixing {a} and {b} makes {mix}."


def sk_animal(rng):
    name, (plural, verb, sound, legs, home) = rng.choice(list(ANIMALS.items()))
    art = "an" if name[0] in "aeiou" else "a"
    r = rng.random()
    if r < 0.45:
        q = pick(rng, ["What sound does {a} {n} make?", "What does {a} {n} say?", "What noise does {a} {n} make?",
                       "What sound do {p} make?", "How does {a} {n} sound?", "what does the {n} say",
                       "What does a {n} sound like?"], a=art, n=name, p=plural)
        q = q.replace("a " + name + " sound like", art + " " + name + " sound like")
        if sound:
            return q, f"{cap_first(art)} {name} {verb}. It says \"{sound}\"."
        return q, f"{cap_first(art)} {name} makes no sound that people can hear."
    if r < 0.75:
        q = pick(rng, ["How many legs does {a} {n} have?", "How many legs do {p} have?",
                       "how many legs has {a} {n}", "Count the legs of {a} {n}."], a=art, n=name, p=plural)
        if legs == 0:
            return q, f"{cap_first(art)} {name} has no legs."
        return q, f"{cap_first(art)} {name} has {legs} legs."
    q = pick(rng, ["Where does {a} {n} live?", "Where do {p} live?", "where do {p} live",
                   "What is the home of {a} {n}?"], a=art, n=name, p=plural)
    return q, f"{cap_first(art)} {name} lives {home}."


def sk_capital(rng):
    country, cap = rng.choice(list(CAPITALS.items()))
    shown = country
    if country in COUNTRY_ALIASES and rng.random() < 0.4:
        shown = rng.choice(COUNTRY_ALIASES[country])
    if rng.random() < 0.85:
        q = pick(rng, ["What is the capital of {c}?", "What's the capital of {c}?", "Capital of {c}?",
                       "Which city is the capital of {c}?", "what is the capital of {c}",
                       "Tell me the capital of {c}.", "Do you know the capital of {c}?",
                       "Name the capital city of {c}."], c=shown)
        return q, f"The capital of {country} is {cap}."
    q = pick(rng, ["{k} is the capital of which country?", "Which country has {k} as its capital?",
                   "Where is {k} the capital?"], k=cap)
    return q, f"{cap} is the capital of {country}."


def sk_opposite(rng):
    w, o = rng.choice(list(OPPOSITES.items()))
    if rng.random() < 0.3:
        w, o = o, w
    q = pick(rng, ["What is the opposite of {w}?", "What's the opposite of \"{w}\"?", "Opposite of {w}?",
                   "what is the opposite of {w}", "Give me the opposite of {w}.",
                   "Tell me a word that means the opposite of {w}."], w=w)
    # "light" has two opposites in the table; answer with the first mapping found.
    ans = OPPOSITES.get(w) or next(k for k, v in OPPOSITES.items() if v == w)
    return q, f"The opposite of \"{w}\" is \"{ans}\"."


def sk_units(rng):
    fs, fp, ts, tp, f = rng.choice(UNITS)
    n = rng.randint(1, 12)
    fu = fs if n == 1 else fp
    N = str(n) if rng.random() < 0.85 else NUMBER_WORDS[n]
    q = pick(rng, ["How many {tp} are in {n} {fu}?", "How many {tp} in {n} {fu}?", "Convert {n} {fu} to {tp}.",
                   "What is {n} {fu} in {tp}?", "{n} {fu} is how many {tp}?", "how many {tp} is {n} {fu}"],
             tp=tp, n=N, fu=fu)
    v = n * f
    return q, f"{n} {fu} is {v} {ts if v == 1 else tp}."


def sk_spell(rng):
    w = rng.choice(SPELL_WORDS)
    q = pick(rng, ["How do you spell {w}?", "Spell {w}.", "Can you spell \"{w}\"?", "spell {w}",
                   "How is \"{w}\" spelled?", "Please spell the word {w}.", "What are the letters in {w}?",
                   "How many letters are in {w}?"], w=w)
    if q.startswith("How many letters"):
        return q, f"\"{w}\" has {len(w)} letters: {'-'.join(w)}."
    return q, f"\"{w}\" is spelled {'-'.join(w)}."


def sk_about(rng):
    r = rng.random()
    if r < 0.35:
        q = rng.choice(["What is acorn?", "What's acorn?", "Tell me about acorn.", "what is acorn",
                        "What is Acorn?", "What does acorn do?", "Explain acorn.", "What is the acorn runtime?"])
        return q, ACORN_DESC
    if r < 0.6:
        q = rng.choice(["Who are you?", "What are you?", "What is your name?", "What's your name?",
                        "Tell me about yourself.", "who are you", "Are you a robot?", "Are you human?"])
        return q, ("I am Acorn, a small chat model that runs on your own device with acorn. "
                   "I know a little about numbers, days, colours, animals, capitals, units and spelling.")
    if r < 0.8:
        q = rng.choice(["What can you do?", "What can you help me with?", "What do you know?",
                        "How can you help me?", "What are you good at?", "help", "Help!"])
        return q, CAPABILITIES
    if r < 0.9:
        q = rng.choice(["Where do you run?", "Are you running in the cloud?", "Do you need the internet?",
                        "Is my data sent anywhere?"])
        return q, "I run on your own device with acorn, so I don't need the internet."
    q = rng.choice(["Who made you?", "Who created you?", "Who trained you?"])
    return q, "I was trained by the acorn project as a small demo model for the acorn runtime."


def sk_ood(rng):
    if rng.random() < 0.7:
        q = rng.choice(OOD_QUESTIONS)
    else:
        q = pick(rng, ["Tell me about {t}.", "Can you help me with {t}?", "What do you know about {t}?",
                       "I have a question about {t}.", "Explain {t} to me."], t=rng.choice(OOD_TOPICS))
    return q, rng.choice(DONT_KNOW)


SKILLS = [(sk_arith, 18), (sk_count, 6), (sk_days, 12), (sk_colour, 9), (sk_animal, 10),
          (sk_capital, 10), (sk_opposite, 5), (sk_units, 8), (sk_spell, 8), (sk_about, 5), (sk_ood, 7)]
SK_FUNCS = [s for s, _ in SKILLS]
SK_W = [w for _, w in SKILLS]

GREETINGS_Q = ["Hi", "Hello", "Hey", "Hi!", "Hello!", "Hey there!", "Good morning", "Good morning!",
               "Good evening", "Good afternoon!", "hi", "hello", "hey", "Hi there", "Howdy", "Yo",
               "Hello, how are you?", "Hi, how are you?", "How are you?", "How are you doing?",
               "how are you", "What's up?", "Hey, how's it going?", "Greetings!"]
GREETINGS_A = ["Hello! How can I help you today?", "Hi there! What would you like to know?",
               "Hello! I'm Acorn. Ask me about numbers, days, colours, animals, capitals, units or spelling."]
HOW_ARE_YOU_A = ["I'm doing well, thank you! How can I help you today?",
                 "I'm fine, thanks for asking! What would you like to know?"]
THANKS_Q = ["Thanks!", "Thank you.", "Thank you!", "thanks", "Thanks a lot!", "Great, thanks.",
            "Cool, thank you!", "Perfect, thanks!", "ok thanks", "Thank you very much."]
THANKS_A = ["You're welcome!", "You're welcome! Anything else?", "Happy to help!"]
BYE_Q = ["Bye!", "Goodbye.", "Goodbye!", "bye", "See you later!", "Good night!", "That's all, bye.",
         "I have to go now. Bye!", "See you!", "Thanks, bye!"]
BYE_A = ["Goodbye! Have a nice day!", "Bye! Take care!", "See you later!"]


def smalltalk(rng, kind):
    if kind == "greet":
        q = rng.choice(GREETINGS_Q)
        if "how are you" in q.lower() or "how's it going" in q.lower() or "up?" in q:
            return q, rng.choice(HOW_ARE_YOU_A)
        return q, rng.choice(GREETINGS_A)
    if kind == "thanks":
        return rng.choice(THANKS_Q), rng.choice(THANKS_A)
    q = rng.choice(BYE_Q)
    return q, rng.choice(BYE_A)


def dialogue(rng):
    msgs = []
    if rng.random() < 0.3:
        msgs.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    n = rng.choices([1, 2, 3], weights=[45, 35, 20])[0]
    turns = []
    for t in range(n):
        r = rng.random()
        if t == 0 and r < 0.12:
            turns.append(smalltalk(rng, "greet"))
        elif t > 0 and r < 0.12:
            turns.append(smalltalk(rng, "thanks"))
        elif t == n - 1 and t > 0 and r < 0.22:
            turns.append(smalltalk(rng, "bye"))
        else:
            q, a = rng.choices(SK_FUNCS, weights=SK_W)[0](rng)
            turns.append((vary(rng, q), a))
    for q, a in turns:
        a = a.replace("D.C..", "D.C.")
        msgs.append({"role": "user", "content": q})
        msgs.append({"role": "assistant", "content": a})
    return msgs


def render_chatml(msgs, add_generation_prompt=False):
    s = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in msgs)
    if add_generation_prompt:
        s += "<|im_start|>assistant\n"
    return s


def generate(n, seed):
    rng = random.Random(seed)
    return [dialogue(rng) for _ in range(n)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200000)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--out", default=None, help="write JSON lines here")
    ap.add_argument("--show", action="store_true", help="print rendered dialogues")
    a = ap.parse_args()
    ds = generate(a.n, a.seed)
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            for d in ds:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
    if a.show:
        for d in ds:
            print(render_chatml(d))
            print("-" * 40)


if __name__ == "__main__":
    main()
