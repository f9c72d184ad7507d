"""The evaluation set of the education search: questions written the way patients and carers
type them (misspellings, brand names, symptoms described rather than named, run-on sentences),
each with the articles that answer it (any listed counts as right), and off-topic questions the
library must refuse.

Written for issue 20, separately from ``questions.py`` (the older regression set), and never
used to write the articles' keywords. ``split`` puts every third question into the held-out
half: thresholds of ``bonemets.education.search`` are tuned on ``train`` only, and the accuracy
floors in test_search_eval.py and the figures in the README are measured on ``held_out``.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")

COVERED: list[tuple[str, tuple[str, ...]]] = [
    # what bone metastases are
    ("is cancer in my bones the same as bone cancer?", ("what-are-bone-metastases",)),
    (
        "does secondary breast cancer in the bone mean I have bone cancer now",
        ("what-are-bone-metastases",),
    ),
    ("what are bone mets exactly", ("what-are-bone-metastases",)),
    ("the letter says lytic lesions in my spine what is that", ("what-are-bone-metastases",)),
    ("why has my breast cancer gone to my hips and spine", ("what-are-bone-metastases",)),
    ("what does sclerotic mean on a scan", ("what-are-bone-metastases",)),
    # finding them
    ("how did they know the cancer had spread to my bones", ("finding-bone-metastases",)),
    (
        "will my bone density scan pick up cancer",
        ("finding-bone-metastases", "bone-density", "what-scans-are-like"),
    ),
    ("do they need to take a bit of bone to test it", ("finding-bone-metastases",)),
    ("what blood tests show cancer in the bone", ("finding-bone-metastases", "monitoring")),
    # monitoring
    ("how often do i get scanned to see if its working", ("monitoring",)),
    ("my tumor marker went up a bit should i panic", ("monitoring",)),
    ("what are they checking in my bloods every month", ("monitoring", "finding-bone-metastases")),
    # treating the cancer
    ("what treatment will i get now its spread", ("treating-the-cancer",)),
    ("is letrozole and palbociclib for the bones or the cancer", ("treating-the-cancer",)),
    (
        "will chemo get rid of the cancer in my bones",
        ("treating-the-cancer", "prognosis-and-living-well"),
    ),
    # bone drugs in general
    ("what do the bone strengthening injections actually do", ("bone-strengthening-drugs",)),
    (
        "why am i on a bone drug if the cancer is being treated anyway",
        ("bone-strengthening-drugs",),
    ),
    (
        "i felt like i had flu after my first bone infusion",
        ("bone-strengthening-drugs", "zoledronic-acid"),
    ),
    (
        "how long will i have to stay on bone drugs",
        ("bone-strengthening-drugs", "zoledronic-acid", "denosumab"),
    ),
    # zoledronic acid
    ("what is zomita", ("zoledronic-acid",)),
    ("how long does the zolendronic acid drip take", ("zoledronic-acid",)),
    ("do I have to have a blood test before my zometa", ("zoledronic-acid",)),
    ("can zometa damage my kidneys", ("zoledronic-acid",)),
    ("zometa every 12 weeks or every 4 weeks which is better", ("zoledronic-acid",)),
    # denosumab
    ("what is xgeva and how is it given", ("denosumab",)),
    ("I want to stop my xjeva injections, is that ok", ("denosumab",)),
    ("whats the difference between prolia and xgeva", ("denosumab",)),
    ("do i need to take calcium with my denosumab jab", ("denosumab", "low-calcium")),
    ("the nurse gives me an injection in my tummy every 4 weeks for my bones", ("denosumab",)),
    # pamidronate, ibandronate, clodronate
    ("what is aredia", ("pamidronate",)),
    ("how do I take bondronat tablets", ("ibandronic-acid",)),
    ("I have to stand up for an hour after my bone tablet why", ("ibandronic-acid",)),
    ("can I take clodronate with milk", ("clodronate",)),
    # jaw
    ("my dentist wants to pull a tooth but i'm on xgeva", ("jaw-and-dental-care",)),
    ("there's a bit of bone showing in my gum", ("jaw-and-dental-care",)),
    ("my jaw feels heavy and numb", ("jaw-and-dental-care",)),
    ("can i get my teeth cleaned while on bone drugs", ("jaw-and-dental-care",)),
    # radiotherapy
    ("is one session of radiation enough for my hip pain", ("radiotherapy",)),
    ("what is cyberknife", ("radiotherapy",)),
    ("can they give me radiotherapy again to the same place", ("radiotherapy",)),
    # surgery
    ("they want to put cement in my spine what does that involve", ("surgery-and-bone-cement",)),
    ("will I need a pin in my thigh bone", ("surgery-and-bone-cement",)),
    ("what is kyphoplasty", ("surgery-and-bone-cement",)),
    # radiopharmaceuticals
    ("what is strontium injection for bone pain", ("radiopharmaceuticals",)),
    ("is the radioactive injection for bones safe for my grandchildren", ("radiopharmaceuticals",)),
    # pain relief
    ("paracetamol isnt touching my bone pain", ("pain-relief",)),
    ("can i take nurofen with my other painkillers", ("pain-relief",)),
    ("will i get hooked on oramorph", ("pain-relief",)),
    ("morphine is making me really sleepy and bunged up", ("pain-relief",)),
    # bone pain and fractures
    ("i heard a crack in my arm and now it really hurts", ("bone-pain-and-broken-bones",)),
    ("how do I know if a bone has broken", ("bone-pain-and-broken-bones",)),
    ("aching in my ribs that wont go away", ("bone-pain-and-broken-bones", "pain-relief")),
    # spinal cord compression
    ("my legs have gone weak and wobbly and my back hurts", ("spinal-cord-compression",)),
    (
        "pins and needles in both legs and i cant feel when i need a wee",
        ("spinal-cord-compression",),
    ),
    ("band of pain round my chest like a belt", ("spinal-cord-compression",)),
    ("what is cord compression", ("spinal-cord-compression",)),
    # high calcium
    ("I'm really thirsty, sick and constipated and a bit muddled", ("high-calcium",)),
    ("mum is drinking loads and weeing all the time and not making sense", ("high-calcium",)),
    ("what is hypercalcemia", ("high-calcium",)),
    ("my calcium came back high what happens now", ("high-calcium",)),
    (
        "should I stop eating cheese because my calcium is high",
        ("high-calcium", "eating-for-bones"),
    ),
    # low calcium
    ("my fingers tingle and I get cramps since starting xgeva", ("low-calcium", "denosumab")),
    ("what happens if my calcium is too low", ("low-calcium",)),
    ("why do I need adcal", ("low-calcium", "eating-for-bones", "denosumab")),
    ("twitching muscles round my mouth", ("low-calcium",)),
    # atypical fracture
    ("dull ache in my thigh after years on zoledronic acid", ("atypical-thigh-fracture",)),
    ("can bone drugs actually cause a broken thigh", ("atypical-thigh-fracture",)),
    # blood clots
    ("one leg is fat and hot and sore", ("blood-clots",)),
    ("i get breathless suddenly and have a sharp pain when i breathe in", ("blood-clots",)),
    ("what is a dvt", ("blood-clots",)),
    # bone marrow
    ("what does it mean when the cancer is in the bone marrow", ("bone-marrow-and-blood-counts",)),
    ("i keep getting nosebleeds and bruises", ("bone-marrow-and-blood-counts",)),
    ("my blood count is low and I feel shivery", ("bone-marrow-and-blood-counts",)),
    # bone density
    ("what does osteopenia mean", ("bone-density",)),
    ("my dexa t score is minus 2", ("bone-density",)),
    # eating
    ("how much calcium should I eat a day at 60", ("eating-for-bones",)),
    ("whats the best food for strong bones", ("eating-for-bones",)),
    ("should i take vitamin d tablets in winter", ("eating-for-bones", "low-calcium")),
    ("I'm vegan where do I get calcium", ("eating-for-bones",)),
    # exercise
    ("can i still go swimming with bone mets", ("exercise",)),
    ("is it safe to lift weights at the gym", ("exercise",)),
    ("what exercises are ok with cancer in my spine", ("exercise",)),
    # falls
    ("i keep tripping over at home", ("preventing-falls",)),
    (
        "how do i make my bathroom safer so I don't fall",
        ("preventing-falls", "recovery-and-mobility-aids"),
    ),
    ("im scared of falling down the stairs", ("preventing-falls", "recovery-and-mobility-aids")),
    # prognosis
    ("how long have i got", ("prognosis-and-living-well",)),
    ("can you live for years with breast cancer in the bones", ("prognosis-and-living-well",)),
    ("is stage 4 curable", ("prognosis-and-living-well",)),
    # palliative
    ("the doctor mentioned palliative care, does that mean i'm dying", ("palliative-care",)),
    ("what does a hospice do", ("palliative-care",)),
    # when to get help
    ("who do I ring out of hours if i feel really unwell", ("when-to-get-help",)),
    ("i had a fit this morning", ("when-to-get-help",)),
    ("what symptoms mean i should go to a and e", ("when-to-get-help",)),
    # fatigue
    ("I'm exhausted all the time even after sleeping", ("fatigue",)),
    ("no energy to do anything is that the cancer", ("fatigue",)),
    ("why am i so tired on treatment", ("fatigue",)),
    ("too tired to get off the sofa most days", ("fatigue",)),
    # emotional support
    ("I can't stop crying since they told me its spread", ("emotional-support",)),
    ("i feel so anxious and alone", ("emotional-support",)),
    ("is there someone I can talk to who understands", ("emotional-support",)),
    ("I'm struggling to cope and feel really low", ("emotional-support",)),
    ("is there a phone number for support at night", ("emotional-support",)),
    # carers
    ("how can I help my mum who has bone mets", ("carers",)),
    ("im looking after my wife and im worn out myself", ("carers", "fatigue")),
    ("is there any support for family", ("carers", "emotional-support")),
    ("can I get help as a carer from the council", ("carers",)),
    # sex and relationships
    ("is it safe to have sex with secondaries in my bones", ("sex-and-relationships",)),
    ("sex hurts since i started letrozole", ("sex-and-relationships",)),
    ("I've gone off sex and my husband is upset", ("sex-and-relationships",)),
    # travel
    ("can I fly to spain on holiday", ("travel-and-insurance",)),
    ("nobody will give me holiday insurance", ("travel-and-insurance",)),
    ("going abroad while having treatment what do I need", ("travel-and-insurance",)),
    # work, benefits, driving
    ("can my boss sack me for having cancer", ("work-benefits-and-driving",)),
    ("what benefits can i claim", ("work-benefits-and-driving",)),
    ("am i allowed to drive on morphine", ("work-benefits-and-driving", "pain-relief")),
    ("do I have to tell the DVLA", ("work-benefits-and-driving",)),
    ("can I go back to work part time", ("work-benefits-and-driving",)),
    ("how do i apply for pip", ("work-benefits-and-driving",)),
    # scans
    ("what happens in an MRI, I'm claustrophobic", ("what-scans-are-like",)),
    ("does a bone scan hurt", ("what-scans-are-like", "finding-bone-metastases")),
    ("how long does a ct scan take and will i have dye", ("what-scans-are-like",)),
    ("what is a pet scan like", ("what-scans-are-like",)),
    # steroids
    ("dexamethasone is keeping me awake all night", ("steroids",)),
    ("I'm starving all the time on steroids", ("steroids",)),
    ("can I just stop taking my steroids", ("steroids",)),
    ("my blood sugar is high since the dex", ("steroids",)),
    # radiotherapy side effects
    ("my skin is red and sore where they did the radiotherapy", ("radiotherapy-side-effects",)),
    (
        "the pain got worse after my radiotherapy yesterday",
        ("radiotherapy-side-effects", "radiotherapy"),
    ),
    ("feeling sick after radiation to my back", ("radiotherapy-side-effects",)),
    ("will radiotherapy make my hair fall out", ("radiotherapy-side-effects",)),
    # recovery and mobility aids
    ("can i get a wheelchair", ("recovery-and-mobility-aids",)),
    ("I need a walking stick but dont know where to get one", ("recovery-and-mobility-aids",)),
    (
        "struggling to get in and out of the bath",
        ("recovery-and-mobility-aids", "preventing-falls"),
    ),
    (
        "how long till i walk again after my hip op",
        ("recovery-and-mobility-aids", "surgery-and-bone-cement"),
    ),
    ("I can't manage in the kitchen any more", ("recovery-and-mobility-aids",)),
    # clinical trials
    ("are there any trials I could go on", ("clinical-trials",)),
    ("could I try a new drug that's not available yet", ("clinical-trials",)),
    ("what does taking part in research involve", ("clinical-trials",)),
    # treatment side effects (issue 21: the UKONS categories)
    ("I have diarrhoea on chemo how many times is too many", ("treatment-side-effects",)),
    ("my mouth is full of ulcers since chemo", ("treatment-side-effects",)),
    ("is a rash normal on palbociclib", ("treatment-side-effects", "treating-the-cancer")),
]

NOT_COVERED: list[str] = [
    "I have a cold sore on my lip",
    "how do I get rid of a cold sore",
    "what is the best way to cook a turkey",
    "how do I change my car tyre",
    "my cat keeps being sick",
    "what time does the post office shut",
    "how do I reset my email password",
    "is it going to rain tomorrow",
    "how do I grow tomatoes",
    "my baby has nappy rash",
    "best film on netflix",
    "how do I knit a scarf",
    "who won the football last night",
    "how do I unblock my sink",
    "can I give my dog paracetamol",
    "recipe for lemon drizzle cake",
    "how do i get a mortgage",
    "what is the capital of australia",
    "my phone screen is cracked",
    "how to get rid of head lice",
    "I've got hay fever",
    "how do I stop snoring",
    "what should I get my grandson for his birthday",
    "my toenail is ingrown",
    "how do i get verruca off my foot",
    "where can I recycle batteries",
    "what's a good name for a goldfish",
    "how do I tune a guitar",
    "my boiler isn't working",
    "is coffee bad for acne",
    "how do I learn spanish",
    "my son has chickenpox spots",
    "how many calories in a banana",
    "what's the cheapest energy supplier",
    "my eyes are itchy from contact lenses",
    "how long to boil an egg",
    "book a table for two tonight",
    "how do I paint a fence",
    "whats the best washing machine",
    "translate hello into french",
    "how do I claim a parking fine refund",
    "my hamster is not eating",
]


def split(items: list[T]) -> tuple[list[T], list[T]]:
    """(train, held_out): every third item (index 2, 5, 8, ...) is held out."""
    train = [x for i, x in enumerate(items) if i % 3 != 2]
    held = [x for i, x in enumerate(items) if i % 3 == 2]
    return train, held


COVERED_TRAIN, COVERED_HELD_OUT = split(COVERED)
NOT_COVERED_TRAIN, NOT_COVERED_HELD_OUT = split(NOT_COVERED)
