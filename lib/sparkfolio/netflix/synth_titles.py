"""Synthetic movie titles and release years shaped like the Netflix Prize ``movie_titles`` file.

The real file has 17,770 titles, years from 1896 to 2005 (most after 1990), seven ``NULL`` years,
about 2% of titles with commas ("Dr. Quinn, Medicine Woman: Season 3") and some latin-1 letters.
The generator reproduces those traits so a parser's hard cases appear in every generated set.
"""

from __future__ import annotations

import numpy as np

_ADJECTIVES = (
    "Silent", "Broken", "Golden", "Last", "Dark", "Lost", "Hidden", "Wild", "Crimson", "Endless",
    "Frozen", "Sacred", "Savage", "Secret", "Electric", "Midnight", "Burning", "Northern", "Little",
    "Final", "Great", "Strange", "Perfect", "Bitter", "Distant", "Forgotten", "Shining", "Deadly",
)
_NOUNS = (
    "River", "Kingdom", "Summer", "Road", "Garden", "Mountain", "City", "Empire", "Island", "Heart",
    "Storm", "Shadow", "Harbor", "Frontier", "Planet", "Dream", "Promise", "Witness", "Horizon",
    "Legacy", "Voyage", "Mirror", "Castle", "Prairie", "Desert", "Station", "Symphony", "Orchard",
)
_PEOPLE = (
    "Angelina", "Dr. Quinn", "Sherlock", "Captain Ron", "Aunt Clara", "Inspector Morse", "Zorro",
    "Lady Jane", "Professor Kirk", "Sister Agnes", "Coach Carter", "Uncle Buck", "Detective Rhodes",
)
_ROLES = ("Medicine Woman", "Ballerina", "The Early Years", "Private Eye", "Gentleman Thief",
          "Space Ranger", "Night Nurse", "Lights, Camera, Action!")
# Latin-1 (not ASCII) titles, as the catalogue's "Amélie" and other European releases.
_FOREIGN = ("Amélie", "Les Misérables", "Cría Cuervos", "Smörgåsbord", "Die Brücke", "Señorita",
            "Café Olé", "Noël", "Straße der Sehnsucht", "Ça Ira", "Fräulein Else", "São Paulo Blues")


def movie_years(rng: np.random.Generator, n: int, null_rate: float = 7 / 17770) -> np.ndarray:
    """Release years (``-1`` = ``NULL``): mostly 1990-2005, with a long tail back to 1896.

    At least one ``NULL`` year is placed once there are 20 movies, so small generated sets still
    exercise ``NULL`` handling downstream.
    """
    recent = 2005 - np.floor(rng.exponential(5.0, n))
    old = 2005 - np.floor(rng.exponential(25.0, n))
    years = np.where(rng.random(n) < 0.75, recent, old)
    years = np.clip(years, 1896, 2005).astype(np.int64)
    null = rng.random(n) < null_rate
    if n >= 20 and not null.any():
        null[int(rng.integers(n))] = True
    years[null] = -1
    return years


def movie_titles(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct titles; about 2% contain commas and 1% latin-1 letters (at least one each).

    Every title is encodable in latin-1 and free of newlines, as in the real file.
    """
    kind = rng.random(n)
    a = rng.integers(len(_ADJECTIVES), size=n)
    b = rng.integers(len(_NOUNS), size=n)
    p = rng.integers(len(_PEOPLE), size=n)
    r = rng.integers(len(_ROLES), size=n)
    f = rng.integers(len(_FOREIGN), size=n)
    season = rng.integers(1, 8, size=n)
    if n >= 20:
        # Guarantee the hard cases exist even in tiny sets: a comma title and a latin-1 title.
        kind[int(rng.integers(n))] = 0.005
        kind[int(rng.integers(n))] = 0.025
    titles: list[str] = []
    used: set[str] = set()
    for i in range(n):
        k = kind[i]
        if k < 0.01:
            t = f"{_PEOPLE[p[i]]}, {_ROLES[r[i]]}: Season {season[i]}"
        elif k < 0.02:
            t = f"{_ADJECTIVES[a[i]]} {_NOUNS[b[i]]}, {_ADJECTIVES[(a[i] + 3) % len(_ADJECTIVES)]} {_NOUNS[b[i]]}"
        elif k < 0.03:
            t = _FOREIGN[f[i]]
        elif k < 0.15:
            t = f"The {_ADJECTIVES[a[i]]} {_NOUNS[b[i]]}"
        elif k < 0.25:
            t = f"{_NOUNS[b[i]]} of the {_ADJECTIVES[a[i]]} {_NOUNS[(b[i] + 5) % len(_NOUNS)]}"
        else:
            t = f"{_ADJECTIVES[a[i]]} {_NOUNS[b[i]]}"
        # Sequels keep titles unique, as the catalogue does ("Shrek 2"); deterministic numbering.
        candidate, seq = t, 1
        while candidate in used:
            seq += 1
            candidate = f"{t} {seq}"
        used.add(candidate)
        titles.append(candidate)
    return titles
