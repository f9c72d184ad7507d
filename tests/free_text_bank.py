"""A bank of things patients write, each with what a clinician would read in it.

Each case is (text, found, negated): `found` is the set of symptoms the words say are present,
`negated` those they say are absent, written as `code`, `code@site` and `code+feature` (a
finding's key: see `key` in tests/test_free_text_bank.py). What a case expects is the clinical
reading, not what the finder happens to do: a case the finder gets wrong is a failing test.

HELD_OUT was written after the finder was tuned on BANK and measured once before any change
(figures in the commit message and the final report); it stays as a regression bank.
"""

from __future__ import annotations

Case = tuple[str, set[str], set[str]]


def c(text: str, found: set[str] | None = None, negated: set[str] | None = None) -> Case:
    return (text, found or set(), negated or set())


# The phrasings named in the issues and the brief.
NAMED: list[Case] = [
    c(
        "I suddenly can't feel my legs and can't walk, and I wet myself",
        {"numbness_tingling@legs", "difficulty_walking", "bladder_problem"},
    ),
    c("my legs went wobbly", {"limb_weakness@legs"}),
    c("one leg is fat and hot and sore", {"leg_swelling+one_leg", "leg_pain_redness_warmth"}),
    c("pins and needles round my mouth", {"numbness_tingling@around_mouth"}),
    c("pins and needles round my mouth after my xgeva jab", {"numbness_tingling@around_mouth"}),
    c("I fell and can't put weight on my hip", {"suspected_fracture"}),
    c("my legs went wobbly and I keep tripping", {"limb_weakness@legs", "difficulty_walking"}),
    c(
        "my back's killing me and my legs feel like jelly",
        {"back_pain", "limb_weakness@legs"},
    ),
    c("cant feel my feet proper", {"numbness_tingling@feet"}),
    c("peed myself", {"bladder_problem"}),
    c("no numbness at all", negated={"numbness_tingling"}),
    c("I'm not confused", negated={"confusion"}),
    c("no leg weakness", negated={"limb_weakness@legs"}),
    c("I haven't wet myself", negated={"bladder_problem"}),
    c("legs are fine, no numbness", negated={"numbness_tingling"}),
]

# Spinal cord compression: feeling, power, walking, bladder, bowel.
SPINE: list[Case] = [
    c("I can't feel my legs", {"numbness_tingling@legs"}),
    c("my legs have gone numb", {"numbness_tingling@legs"}),
    c("numbness in both legs since yesterday", {"numbness_tingling@legs"}),
    c("tingling in my fingers and toes", {"numbness_tingling@hands", "numbness_tingling@feet"}),
    c("my hands and my feet are numb", {"numbness_tingling@hands", "numbness_tingling@feet"}),
    c("pins and needles in my hands", {"numbness_tingling@hands"}),
    c("numb bum when I sit on the toilet", {"numbness_tingling@saddle"}),
    c("I can't feel the toilet paper when I wipe", {"numbness_tingling@saddle"}),
    c("numbness between my legs", {"numbness_tingling@saddle"}),
    c("my feet feel like they're asleep all the time", {"numbness_tingling@feet"}),
    # A band-like feeling round the trunk is also radicular (NG234 lists band-like pain).
    c(
        "tingly feeling around my tummy like a band",
        {"numbness_tingling@trunk", "radiating_pain@belly_band"},
    ),
    c("some tingling, not sure where", {"numbness_tingling"}),
    c("my legs are weak", {"limb_weakness@legs"}),
    c("weakness in my left arm", {"limb_weakness@arms"}),
    c("my arms and legs feel heavy", {"limb_weakness@arms", "limb_weakness@legs"}),
    c("my legs keep giving way", {"limb_weakness@legs"}),
    c("my knees buckled twice today", {"limb_weakness@legs"}),
    c("I can't lift my arm above my head", {"limb_weakness@arms"}),
    c("I'm dragging my right foot", {"limb_weakness@legs"}),
    c("I can't grip a cup any more", {"limb_weakness@arms"}),
    c("my legs won't hold me up", {"limb_weakness@legs"}),
    c("I can't walk", {"difficulty_walking"}),
    c("I am unable to walk without help", {"difficulty_walking"}),
    c("struggling to walk this week", {"difficulty_walking"}),
    c("I keep falling over", {"difficulty_walking"}),
    c("very unsteady on my feet", {"difficulty_walking"}),
    c("I can't get up the stairs any more", {"difficulty_walking"}),
    c("I couldn't stand up from the chair this morning", {"difficulty_walking"}),
    c("my balance is all over the place", {"difficulty_walking"}),
    c("I wet myself last night", {"bladder_problem"}),
    c("I've been wetting the bed", {"bladder_problem"}),
    c("I can't pee", {"bladder_problem"}),
    c("haven't passed urine since yesterday morning", {"bladder_problem"}),
    c("I lost control of my bladder", {"bladder_problem"}),
    c("leaking wee without knowing", {"bladder_problem"}),
    c("I can't tell when I need the loo", {"bladder_problem"}),
    c("had an accident in my pants", {"bladder_problem"}),
    c("I pooed myself", {"bowel_control_loss"}),
    c("lost control of my bowels", {"bowel_control_loss"}),
    c("I can't control my bowels", {"bowel_control_loss"}),
    c("shooting pain down my leg", {"radiating_pain@leg"}),
    c("pain like a tight band around my chest", {"radiating_pain@chest_band"}),
    c("burning pain going down my arm", {"radiating_pain@arm"}),
    c("sciatica in my right leg", {"radiating_pain@leg"}),
]

BONES: list[Case] = [
    c("I think I've broken my wrist", {"suspected_fracture"}),
    c("I heard a crack in my leg when I turned", {"suspected_fracture"}),
    c("I cannot bear weight on my left leg", {"suspected_fracture"}),
    c("I slipped and now I can't stand on my leg", {"suspected_fracture"}),
    c("my arm looks bent since I fell", {"suspected_fracture"}),
    c("bad pain in my hip", {"thigh_hip_groin_pain"}),
    c("my groin aches when I walk", {"thigh_hip_groin_pain"}),
    c("my thigh has been aching for weeks", {"thigh_hip_groin_pain"}),
    c("my back hurts", {"back_pain"}),
    c("pain in my lower back", {"back_pain@lower_back"}),
    c("my neck is killing me", {"back_pain@neck"}),
    c("pain between my shoulder blades", {"back_pain@upper_back"}),
    c("back pain is worse at night", {"back_pain+worse_at_night"}),
    c("my ribs hurt", {"bone_pain@ribs"}),
    c("my bones ache all over", {"bone_pain"}),
    c("the pain is unbearable and the painkillers aren't working", {"bone_pain"}),
    c("I'm in agony", {"bone_pain"}),
]

CALCIUM: list[Case] = [
    c("I'm so thirsty all the time", {"thirst"}),
    c("peeing all the time", {"passing_much_urine"}),
    c("I've been sick three times today", {"nausea_vomiting"}),
    c("feeling sick and off my food", {"nausea_vomiting", "loss_of_appetite"}),
    c("really constipated", {"constipation"}),
    c("I haven't had a poo for five days", {"constipation"}),
    c("no appetite at all", {"loss_of_appetite"}),
    c("I'm knackered", {"fatigue"}),
    c("so drowsy I keep nodding off", {"drowsiness"}),
    c("she's very confused today", {"confusion"}),
    c("mum is muddled and doesn't know where she is", {"confusion"}),
    c("he's talking nonsense", {"confusion"}),
    c("my lips are tingly", {"numbness_tingling@around_mouth"}),
    c("cramps in my legs at night", {"muscle_cramps_twitching"}),
    c("my muscles keep twitching", {"muscle_cramps_twitching"}),
    c("she had a fit this morning", {"seizure"}),
    c("I had a seizure", {"seizure"}),
    c("he was fitting for two minutes", {"seizure"}),
    c("worst headache of my life", {"headache"}),
]

CLOTS_CHEST: list[Case] = [
    c("my left calf is swollen and red", {"leg_swelling+one_leg", "leg_pain_redness_warmth"}),
    c("my right leg is twice the size of the other one", {"leg_swelling+one_leg"}),
    c("both ankles are swollen", {"leg_swelling"}),
    c("my calf hurts", {"leg_pain_redness_warmth"}),
    c("my leg is hot to touch", {"leg_pain_redness_warmth"}),
    c("my picc line is red and sore", {"line_site_swelling"}),
    c("swelling around my port", {"line_site_swelling"}),
    c("I'm short of breath", {"shortness_of_breath"}),
    c("suddenly breathless this morning", {"shortness_of_breath+sudden"}),
    c("I can't breathe", {"shortness_of_breath+sudden"}),
    c("struggling to breathe when I go upstairs", {"shortness_of_breath"}),
    c("chest pain", {"chest_pain"}),
    c("tightness in my chest", {"chest_pain"}),
    c("my chest feels heavy", {"chest_pain"}),
    c("I coughed up blood this morning", {"coughing_blood"}),
    c("blood in my phlegm", {"coughing_blood"}),
    c("coughing up bloody phlegm", {"coughing_blood"}),
]

INFECTION_BLEEDING_JAW: list[Case] = [
    c("I've got a temperature", {"fever"}),
    c("high temperature since last night", {"fever"}),
    c("temp 38.4 this morning", {"fever+temperature_38_or_more"}),
    c("my temperature was 38", {"fever+temperature_38_or_more"}),
    c("I have a fever of 101", {"fever+temperature_38_or_more"}),
    c("temperature 37.8", {"fever"}),
    c("hot and shivery", {"fever"}),
    c("I've got the shivers", {"fever"}),
    c("I feel hot and cold", {"fever"}),
    c("bruises all over for no reason", {"bruising_bleeding"}),
    c("my nose won't stop bleeding", {"bruising_bleeding"}),
    c("blood in my wee", {"bruising_bleeding", "urinary_symptoms+blood_in_urine"}),
    c("flu-like aches since my zometa", {"flu_like_after_infusion"}),
    c("my jaw hurts", {"jaw_pain"}),
    c("a tooth is loose", {"loose_teeth"}),
    c("my gums are swollen and sore", {"gum_problem"}),
    c("I can see bone in my mouth", {"exposed_bone_mouth"}),
    c("bone poking through my gum", {"exposed_bone_mouth"}),
    c("my ear is leaking gunk", {"ear_pain_discharge"}),
    c("earache", {"ear_pain_discharge"}),
]

NEGATED: list[Case] = [
    c("no numbness or tingling", negated={"numbness_tingling"}),
    c("I don't have any pins and needles", negated={"numbness_tingling"}),
    c("I have not had any weakness in my legs", negated={"limb_weakness@legs"}),
    c("no problems walking", negated={"difficulty_walking"}),
    c("I'm not constipated", negated={"constipation"}),
    c("no fever", negated={"fever"}),
    c("no chest pain", negated={"chest_pain"}),
    c("I don't feel sick", negated={"nausea_vomiting"}),
    c("never had a fit", negated={"seizure"}),
    c("no blood when I cough", negated={"coughing_blood"}),
    c("without any bladder problems", negated={"bladder_problem"}),
    c("haven't been confused at all", negated={"confusion"}),
    c("the numbness in my feet has gone", negated={"numbness_tingling@feet"}),
    c("the tingling went away", negated={"numbness_tingling"}),
    c("no swelling in my legs", negated={"leg_swelling"}),
    c("not short of breath", negated={"shortness_of_breath"}),
    c("I'm not drowsy", negated={"drowsiness"}),
    c("no headaches", negated={"headache"}),
    c("my jaw doesn't hurt", negated={"jaw_pain"}),
    c(
        "No numbness, tingling, weakness or problems with my bladder",
        negated={"numbness_tingling", "muscle_weakness", "bladder_problem"},
    ),
    c("free of back pain this week", negated={"back_pain"}),
    c("no signs of a fever", negated={"fever"}),
    c("I have no loss of feeling in my legs", negated={"numbness_tingling@legs"}),
    c("no leaking of urine", negated={"bladder_problem"}),
]

MIXED: list[Case] = [
    c("not confused, but can't walk", {"difficulty_walking"}, {"confusion"}),
    c("not confused, can't walk", {"difficulty_walking"}, {"confusion"}),
    c("no fever and I can't walk", {"difficulty_walking"}, {"fever"}),
    c("No pain, my legs are just weak", {"limb_weakness@legs"}),
    c(
        "the numbness has gone but now I can't feel my feet",
        {"numbness_tingling@feet"},
        {"numbness_tingling"},
    ),
    c(
        "no chest pain but I am short of breath",
        {"shortness_of_breath"},
        {"chest_pain"},
    ),
    c("I haven't wet myself but I can't pee", {"bladder_problem"}, {"bladder_problem"}),
    c("the tingling hasn't gone away", {"numbness_tingling"}),
    c("my legs are no better, still weak", {"limb_weakness@legs"}),
    c("not sure if I wet myself", {"bladder_problem"}),
    c("No. I can't feel my legs", {"numbness_tingling@legs"}),
    c("I don't think I can walk", {"difficulty_walking"}),
    c("never felt so weak in my legs", {"limb_weakness@legs"}),
    c("I've got no feeling in my legs", {"numbness_tingling@legs"}),
    c("I haven't been able to walk since Tuesday", {"difficulty_walking"}),
    c(
        "back pain worse at night and when I lie down",
        {"back_pain+worse_at_night+worse_lying_down"},
    ),
]

MISSPELT: list[Case] = [
    c("numbess in my feet", {"numbness_tingling@feet"}),
    c("my legs are wobbley", {"limb_weakness@legs"}),
    c("confussed and very thirsty", {"confusion", "thirst"}),
    c("I'm shivvering and have a feaver", {"fever"}),
    c("tingeling in my hands", {"numbness_tingling@hands"}),
    c("my legs feel weeker", {"limb_weakness@legs"}),
    c("i think i've got a temprature", {"fever"}),
    c("bad weekness in my legs", {"limb_weakness@legs"}),
    c("my left leg is swolen", {"leg_swelling+one_leg"}),
    c("I've been vomitting all night", {"nausea_vomiting"}),
    c("brething is hard", {"shortness_of_breath"}),
    c("she had a siezure", {"seizure"}),
    c("I'm incontinant now", {"bladder_problem"}),
    c("cant feel my toes proprly", {"numbness_tingling@feet"}),
    c("pins and neddles in my fingers", {"numbness_tingling@hands"}),
    c("tightnes in my chest", {"chest_pain"}),
    c("coughing up bloood", {"coughing_blood"}),
    c("constipaited for a week", {"constipation"}),
    c("my gums are bleading", {"gum_problem", "bruising_bleeding"}),
    c("my calf is swolen and hurts", {"leg_swelling+one_leg", "leg_pain_redness_warmth"}),
]

COLLOQUIAL: list[Case] = [
    c("my legs feel like jelly", {"limb_weakness@legs"}),
    c("legs have gone to jelly", {"limb_weakness@legs"}),
    c("my legs are like lead", {"limb_weakness@legs"}),
    c("my legs just went from under me", {"limb_weakness@legs"}),
    c("wee'd myself in Tesco", {"bladder_problem"}),
    c("pissed myself this morning", {"bladder_problem"}),
    c("had to change my knickers, I'd wet them", {"bladder_problem"}),
    c("I've messed myself", {"bowel_control_loss"}),
    c("my back's been playing up", {"back_pain"}),
    c("my hip is giving me gyp", {"thigh_hip_groin_pain"}),
    c("feel rough as anything and hot and shivery", {"fever"}),
    c("I'm burning up", {"fever"}),
    c("been throwing up all day", {"nausea_vomiting"}),
    c("I'm parched all the time", {"thirst"}),
    c("I'm bunged up", {"constipation"}),
    c("not with it today, away with the fairies", {"confusion"}),
    c("I'm wiped out", {"fatigue"}),
    c("puffed out just walking to the kitchen", {"shortness_of_breath"}),
    c("dead legs, can't feel a thing in them", {"numbness_tingling@legs"}),
    c("my hand's gone all tingly", {"numbness_tingling@hands"}),
    c("my foot's asleep and won't wake up", {"numbness_tingling@feet"}),
    c("jelly legs and I keep stumbling", {"limb_weakness@legs", "difficulty_walking"}),
    c("my ankle's blown up like a balloon", {"leg_swelling+one_leg"}),
    c("bruising like a peach", {"bruising_bleeding"}),
    c("I've got the runs and I'm hot and cold", {"fever", "diarrhoea"}),
]

NOTHING: list[Case] = [
    c("Managing with paracetamol."),
    c("Slept badly a couple of nights."),
    c("Walking to the shops most days."),
    c("Seeing the oncologist next week."),
    c("A bit low in mood, family are helping."),
    c("Appetite better this week."),
    c("Hot flushes at night."),
    c("thank you"),
    c("I've been sitting down a lot"),
    c("I keep calling the nurse but nobody answers"),
    c("I keep getting myself in a state about the scan"),
    c("trouble talking to my family about it"),
    c("I'm a bit confused about when to take my tablets"),
    c("my hair keeps falling out"),
    c("the form is a pain in the neck"),
    c("I went back to bed after breakfast"),
    c("fit and well, thanks"),
    c("sick of waiting for results"),
    c("my temperature is normal"),
    c("got the all clear on my chest x-ray"),
    c("does the zometa cause fractures?"),
    c("my walking is fine now"),
]

BANK: list[Case] = (
    NAMED
    + SPINE
    + BONES
    + CALCIUM
    + CLOTS_CHEST
    + INFECTION_BLEEDING_JAW
    + NEGATED
    + MIXED
    + MISSPELT
    + COLLOQUIAL
    + NOTHING
)
HELD_OUT: list[Case] = [
    c("both my legs feel numb and heavy", {"numbness_tingling@legs", "limb_weakness@legs"}),
    c("I can hardly walk now", {"difficulty_walking"}),
    c("I've started wetting myself when I stand up", {"bladder_problem"}),
    c("I couldn't get to the loo in time and wet myself", {"bladder_problem"}),
    c("my left foot keeps dragging when I walk", {"limb_weakness@legs"}),
    c("numb patch on my bum", {"numbness_tingling@saddle"}),
    c("my toes have been tingling since chemo", {"numbness_tingling@feet"}),
    c("my fingertips are numb", {"numbness_tingling@hands"}),
    c("there is no weakness in my arms", negated={"limb_weakness@arms"}),
    c("I am not having any trouble passing urine", negated={"bladder_problem"}),
    c("my back is sore but I have no numbness", {"back_pain"}, {"numbness_tingling"}),
    c("no weakness, just tired", {"fatigue"}, {"muscle_weakness"}),
    c("my legs are not weak", negated={"limb_weakness@legs"}),
    c("I can walk fine and I'm not incontinent", negated={"bladder_problem"}),
    c("the pins and needles in my hands stopped last week", negated={"numbness_tingling@hands"}),
    c("I feel dizzy and my vision is blurry", {"dizziness_fainting", "eye_problem"}),
    c("I had a fall in the garden and my wrist is bent", {"suspected_fracture"}),
    c("my hip gave way and now I can't put any weight on it", {"suspected_fracture"}),
    c("I keep getting cramp in my calves", {"muscle_cramps_twitching"}),
    c("I have a temperature of 38.9", {"fever+temperature_38_or_more"}),
    c("my temp was 37.2 this morning"),
    c("shaking and shivering after my drip", {"fever"}),
    c("my right calf is hot and swollen", {"leg_swelling+one_leg", "leg_pain_redness_warmth"}),
    c("I'm gasping for air", {"shortness_of_breath+sudden"}),
    c("there's blood when I cough", {"coughing_blood"}),
    c("she keeps forgetting things and is very muddled", {"confusion"}),
    c("he's not making any sense", {"confusion"}),
    c("I've been so thirsty and weeing loads", {"thirst", "passing_much_urine"}),
    c("my gum has an ulcer that won't heal", {"gum_problem"}),
    c("part of my jawbone is showing through my gum", {"exposed_bone_mouth"}),
    c("pain in my jaw when I chew", {"jaw_pain"}),
    c("my teeth feel loose", {"loose_teeth"}),
    c("i cant feel my legs and cant get out of bed", {"numbness_tingling@legs"}),
    c("my legs have gone all funny and weak", {"limb_weakness@legs"}),
    c("I'm peeing much less than usual and can't go properly", {"bladder_problem"}),
    c("my bowels just let go", {"bowel_control_loss"}),
    c("my legs are killing me", {"leg_pain_redness_warmth"}),
    c("I feel really sick and I can't keep anything down", {"nausea_vomiting"}),
    c("sore throat and a runny nose", {"sore_throat"}),
    c("I walked the dog this morning, legs fine"),
    c("no fits, no confusion, no fever", negated={"seizure", "confusion", "fever"}),
    c("Mum had a funny turn and was shaking all over", {"seizure"}),
    c("pain in my chest when I breathe in", {"chest_pain"}),
    c(
        "my chest is fine",
    ),
    c("numbness and tingling in both feet, worse this week", {"numbness_tingling@feet"}),
]
