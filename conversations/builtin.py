"""The surveys every palaute has: `nps`, `csat`, `ces` and `event`, in Finnish and English.

Written as the same plain data a config file holds, so they go through the same checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conversations.definitions import survey_from_mapping
from conversations.survey import Survey

_DETRACTOR_THANKS = {
    "en": "Thank you for being honest. Someone from our team will look into this.",
    "fi": "Kiitos rehellisestä palautteesta. Joku tiimistämme selvittää asian.",
}
_THANKS = {"en": "Thank you for your feedback!", "fi": "Kiitos palautteestasi!"}
_WHY = {
    "en": "What is the main reason for your score?",
    "fi": "Mikä on tärkein syy antamaasi arvosanaan?",
}
_FIX = {"en": "What should we fix first?", "fi": "Mitä meidän pitäisi korjata ensimmäiseksi?"}

BUILTIN_DATA: Mapping[str, Mapping[str, Any]] = {
    "nps": {
        "title": {"en": "Net Promoter Score", "fi": "Suositteluhalukkuus"},
        "default_language": "en",
        "questions": [
            {
                "id": "nps",
                "type": "nps",
                "text": {
                    "en": "How likely are you to recommend us to a friend or colleague?",
                    "fi": "Kuinka todennäköisesti suosittelisit meitä ystävälle tai kollegalle?",
                },
                "low_label": {"en": "not at all likely", "fi": "en lainkaan todennäköisesti"},
                "high_label": {"en": "extremely likely", "fi": "erittäin todennäköisesti"},
            },
            {"id": "why", "type": "text", "text": _WHY, "optional": True, "max_length": 1000},
            {"id": "fix", "type": "text", "text": _FIX, "optional": True, "when": "nps <= 6"},
        ],
        "thanks": [{"when": "nps <= 6", "text": _DETRACTOR_THANKS}, {"text": _THANKS}],
    },
    "csat": {
        "title": {"en": "Customer satisfaction", "fi": "Asiakastyytyväisyys"},
        "questions": [
            {
                "id": "csat",
                "type": "csat",
                "text": {
                    "en": "How satisfied were you with our service?",
                    "fi": "Kuinka tyytyväinen olit palveluumme?",
                },
                "low_label": {"en": "very dissatisfied", "fi": "erittäin tyytymätön"},
                "high_label": {"en": "very satisfied", "fi": "erittäin tyytyväinen"},
            },
            {"id": "why", "type": "text", "text": _WHY, "optional": True},
        ],
        "thanks": [{"when": "csat <= 2", "text": _DETRACTOR_THANKS}, {"text": _THANKS}],
    },
    "ces": {
        "title": {"en": "Customer effort", "fi": "Asioinnin helppous"},
        "questions": [
            {
                "id": "ces",
                "type": "ces",
                "text": {
                    "en": "“It was easy to get what I needed.” How much do you agree?",
                    "fi": "”Sain helposti sen, mitä tarvitsin.” Kuinka samaa mieltä olet?",
                },
                "low_label": {"en": "strongly disagree", "fi": "täysin eri mieltä"},
                "high_label": {"en": "strongly agree", "fi": "täysin samaa mieltä"},
            },
            {"id": "why", "type": "text", "text": _WHY, "optional": True},
        ],
        "thanks": [{"when": "ces <= 3", "text": _DETRACTOR_THANKS}, {"text": _THANKS}],
    },
    "event": {
        "title": {"en": "Event feedback", "fi": "Tapahtumapalaute"},
        "alert_at_most": 2,  # a 1 or a 2 out of 5 on any part of the day tells the team
        "intro": {
            "en": "Thank you for being part of {event_name}! Three quick questions.",
            "fi": "Kiitos, että olit mukana: {event_name}! Kolme nopeaa kysymystä.",
        },
        "questions": [
            {
                "id": "before",
                "type": "rating",
                "points": 5,
                "tags": ["before"],
                "text": {
                    "en": "Before the event: how well did booking and information work?",
                    "fi": "Ennen tapahtumaa: miten varaaminen ja tiedotus toimivat?",
                },
                "low_label": {"en": "poorly", "fi": "huonosti"},
                "high_label": {"en": "very well", "fi": "erittäin hyvin"},
            },
            {
                "id": "during",
                "type": "rating",
                "points": 5,
                "tags": ["during"],
                "text": {
                    "en": "The day itself: how was {event_name}?",
                    "fi": "Itse tapahtumapäivä: millainen {event_name} oli?",
                },
                "low_label": {"en": "poor", "fi": "huono"},
                "high_label": {"en": "excellent", "fi": "erinomainen"},
            },
            {
                "id": "after",
                "type": "rating",
                "points": 5,
                "tags": ["after"],
                "text": {
                    "en": "Afterwards: how do you feel about the event now?",
                    "fi": "Jälkeenpäin: millainen fiilis tapahtumasta jäi?",
                },
                "low_label": {"en": "bad", "fi": "huono"},
                "high_label": {"en": "great", "fi": "loistava"},
            },
            {
                "id": "change",
                "type": "text",
                "optional": True,
                "text": {
                    "en": "What should we change next time?",
                    "fi": "Mitä meidän pitäisi muuttaa ensi kerralla?",
                },
            },
        ],
        "thanks": [
            {"text": {"en": "Thank you, see you next time!", "fi": "Kiitos, nähdään taas!"}}
        ],
    },
}


def builtin_surveys() -> dict[str, Survey]:
    return {
        survey_id: survey_from_mapping(survey_id, data) for survey_id, data in BUILTIN_DATA.items()
    }
