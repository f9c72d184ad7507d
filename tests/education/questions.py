"""Patient questions, written the way people ask them, with the articles that answer them (the
first listed is the best; any listed counts as right), and questions the library does not cover.

The regression set of the education search (test_search.py). The hybrid search of issue 20 is
tuned on tests/education/patient_questions.py instead; this set checks it did not lose what the
lexical search found.
"""

from __future__ import annotations

COVERED: list[tuple[str, tuple[str, ...]]] = [
    ("can I have my tooth out on zometa", ("jaw-and-dental-care", "zoledronic-acid")),
    ("why do I need calcium tablets", ("low-calcium", "eating-for-bones", "denosumab")),
    ("is bone mets the same as bone cancer", ("what-are-bone-metastases",)),
    ("what does lytic lesion mean on my scan report", ("what-are-bone-metastases",)),
    ("what's the difference between lytic and blastic", ("what-are-bone-metastases",)),
    ("which bones does breast cancer usually spread to", ("what-are-bone-metastases",)),
    (
        "will a dexa scan show if the cancer is in my bones",
        ("finding-bone-metastases", "bone-density"),
    ),
    ("do I need a biopsy of my bone", ("finding-bone-metastases",)),
    ("why did they check my alkaline phosphatase", ("finding-bone-metastases", "monitoring")),
    ("how often will I have scans", ("monitoring",)),
    ("how often should my tumour markers be checked", ("monitoring",)),
    ("my CA 15-3 went up does that mean the treatment has stopped working", ("monitoring",)),
    ("how is xgeva given and how often", ("denosumab", "bone-strengthening-drugs")),
    ("can I stop my denosumab injections", ("denosumab",)),
    ("how long does the zometa drip take", ("zoledronic-acid", "bone-strengthening-drugs")),
    ("can I have zometa every 3 months instead of monthly", ("zoledronic-acid",)),
    ("will zoledronic acid hurt my kidneys", ("zoledronic-acid", "bone-strengthening-drugs")),
    ("how do I take my ibandronate tablets", ("ibandronic-acid",)),
    ("can I take bonefos with my breakfast", ("clodronate", "eating-for-bones")),
    ("how long is the pamidronate infusion", ("pamidronate",)),
    (
        "I feel achy and shivery the day after my infusion is that normal",
        ("bone-strengthening-drugs",),
    ),
    ("my gums are sore and a tooth is loose", ("jaw-and-dental-care",)),
    ("I have pain in my ear and some discharge", ("jaw-and-dental-care",)),
    ("does radiotherapy for bone pain need many sessions", ("radiotherapy",)),
    ("what is stereotactic radiotherapy", ("radiotherapy",)),
    ("my pain got worse after radiotherapy", ("radiotherapy",)),
    ("what is a vertebroplasty", ("surgery-and-bone-cement",)),
    ("will I need an operation to put a rod in my leg", ("surgery-and-bone-cement",)),
    ("what are radioactive injections for bone pain", ("radiopharmaceuticals",)),
    ("is it ok to take ibuprofen for my bone pain", ("pain-relief",)),
    ("I'm scared of getting addicted to morphine", ("pain-relief",)),
    ("the painkillers make me constipated what can I do", ("pain-relief",)),
    ("my back pain is worse at night when I lie down", ("spinal-cord-compression",)),
    ("my legs feel weak and numb and I can't walk properly", ("spinal-cord-compression",)),
    ("I've lost control of my bladder", ("spinal-cord-compression",)),
    ("I'm always thirsty and weeing a lot", ("high-calcium",)),
    ("does eating dairy cause high calcium", ("high-calcium", "eating-for-bones")),
    ("tingling around my lips and cramps in my hands", ("low-calcium",)),
    (
        "I have an ache in my thigh and groin, I've been on zometa for years",
        ("atypical-thigh-fracture",),
    ),
    ("my calf is swollen red and warm", ("blood-clots",)),
    ("I suddenly can't catch my breath and my chest hurts", ("blood-clots",)),
    ("I'm bruising easily", ("bone-marrow-and-blood-counts",)),
    ("I have a temperature of 38 on chemo", ("bone-marrow-and-blood-counts",)),
    ("what does a t-score of -2.5 mean", ("bone-density",)),
    ("how much calcium and vitamin D should I have a day", ("eating-for-bones",)),
    ("which foods have calcium in them", ("eating-for-bones",)),
    ("is it safe to exercise with bone metastases", ("exercise",)),
    ("how can I stop myself falling at home", ("preventing-falls",)),
    ("how long can I live with breast cancer in my bones", ("prognosis-and-living-well",)),
    ("can bone metastases be cured", ("prognosis-and-living-well",)),
    ("is palliative care only for people who are dying", ("palliative-care",)),
    ("what is hormone therapy for secondary breast cancer", ("treating-the-cancer",)),
    ("I think I've broken my arm, I can't move it", ("bone-pain-and-broken-bones",)),
    ("I've had a really bad headache for days", ("when-to-get-help",)),
    ("can I get pregnant while on bone drugs", ("bone-strengthening-drugs",)),
    # Off-topic until the library had articles on travel, work, benefits and driving (issue 20).
    ("can I go on holiday abroad", ("travel-and-insurance",)),
    ("how do I claim benefits when I can't work", ("work-benefits-and-driving",)),
    ("can I drive after my infusion", ("work-benefits-and-driving", "bone-strengthening-drugs")),
]

NOT_COVERED: list[str] = [
    "how do I renew my passport",
    "what is the best recipe for chocolate cake",
    "how do I fix my wifi router",
    "what time does the football match start",
    "can you recommend a good mortgage lender",
    "how do I train my puppy to sit",
    "what is the capital of australia",
    "how do I change a car tyre",
    "is it going to rain tomorrow",
    "how do I apply for a fishing licence",
    "what are the symptoms of hay fever",
    "how much does a new laptop cost",
    "can I travel to spain with my dog",
    "how do I grow tomatoes in a greenhouse",
    "what is the best broadband deal",
    "how do I treat my dog's broken leg",
    "how do I get to the hospital car park",
    "can I drink coffee",
    "how much does radiotherapy cost in america",
    "is bone broth good for you",
    "what vitamins help hair grow",
]

# Off-topic questions that share words with the library ("under the skin", "CAT scan", "cold
# packs", "gardening", "weights"). A word-matching search counts them as covered; kept here to
# document the limit, not asserted.
KNOWN_FALSE_COVERS: list[str] = [
    "what is skin cancer",
    "my cat has cancer what should I do",
    "how do I treat a cold",
    "how do I look after my garden",
    "what is the best diet to lose weight",
]
