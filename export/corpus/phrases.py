"""Phrase banks per dimension and level, written for this project.

Slots: {emotion} (a feeling word), {label} (the concern in second person), {clause} (a user
sentence turned to second person), {other} (another concern, for misreadings and off-topic text).
"""

from __future__ import annotations

# Empathy: acknowledgement of the user's feelings, from deep validation (5) to none (1).
EMPATHY: dict[int, tuple[str, ...]] = {
    5: (
        "It makes complete sense that you're feeling {emotion}; anyone carrying this would be. What you feel is valid, and it matters.",
        "I can hear how {emotion} you are, and I'm really sorry. Those feelings are a natural response to something genuinely painful.",
        "Feeling {emotion} in a situation like this isn't a weakness or an overreaction. It's an understandable human response, and you deserve care while you're in it.",
        "That sounds incredibly painful, and I want you to know your feelings are completely understandable. Being {emotion} right now makes a lot of sense.",
        "I'm so sorry. Feeling {emotion} like this can be exhausting, and it takes courage to put it into words the way you have.",
        "Thank you for trusting me with this. Of course you feel {emotion}: you've been holding a lot, and it's okay that it hurts.",
        "What you're describing sounds really heavy, and feeling {emotion} is a completely human reaction to it. You're not wrong or broken for feeling this way.",
    ),
    4: (
        "I'm really sorry you're going through this.",
        "That sounds really hard, and I'm glad you reached out.",
        "I'm sorry things have been so tough; that's a lot to deal with.",
        "It sounds like you've been having a really rough time, and I'm sorry.",
        "Thank you for sharing this. It can't be easy.",
        "That's a lot to be carrying, and it's understandable that it's getting to you.",
        "I'm sorry you're feeling {emotion}. That sounds difficult.",
    ),
    3: (
        "That sounds difficult.",
        "Sorry to hear that.",
        "That must be tough.",
        "That's not easy.",
        "Sounds like a hard situation.",
        "I understand it's a bit stressful.",
    ),
    2: (
        "I see.",
        "Okay.",
        "Noted.",
        "Right.",
        "Thanks for the information.",
        "Understood.",
        "Alright, that's unfortunate.",
    ),
    1: (
        "",
        "",
        "",
        "Here is some information.",
        "Response below.",
        "See the points below.",
    ),
}

# Understanding: how accurately the reply reflects the user's situation.
UNDERSTANDING_CLAUSE: tuple[str, ...] = (
    "It sounds like {clause}.",
    "You mentioned that {clause}, and that's clearly been weighing on you.",
    "From what you've written, {clause}, and it's left you feeling {emotion}.",
    "If I'm hearing you right, {clause}, and it's been hard to see a way through.",
    "So {clause}. That's a lot on its own, and it sounds like it's been building.",
    "What stands out to me is that {clause}.",
)
UNDERSTANDING_ECHO: tuple[str, ...] = (
    "You mentioned that {clause}.",
    "You said {clause}.",
    "So {clause}.",
    "I hear that {clause}.",
)
UNDERSTANDING: dict[int, tuple[str, ...]] = {
    5: (
        "It sounds like {label} has left you feeling {emotion}, and that it's been building for a while rather than coming out of nowhere.",
        "What I'm hearing is that {label} isn't just stressful in the moment; it's been following you through your days and leaving you {emotion}.",
        "It seems like the hardest part of {label} is feeling {emotion} while trying to keep everything else going.",
    ),
    4: (
        "It sounds like {label} has been weighing on you.",
        "It seems {label} has really taken a toll.",
        "I can tell {label} has been on your mind a lot.",
        "So {label} is what's been hardest lately.",
        "You've clearly been struggling with {label}.",
    ),
    3: (
        "It sounds like you're going through a tough time.",
        "It seems like things have been difficult lately.",
        "It sounds like a lot is going on for you.",
        "It seems like you're dealing with some stress.",
        "Sounds like life is a bit much at the moment.",
    ),
    2: (
        "It sounds like {other} is what's really bothering you.",
        "So mainly you're dealing with {other}.",
        "It seems like the real issue here is {other}.",
        "It sounds like you're mostly {wrong} about it.",
        "So you're feeling a bit {wrong}, which is fair.",
    ),
    1: ("", "", "So you're after some general tips.", "Let's look at this."),
}
# Misreadings of how someone feels, used for Understanding 2.
WRONG_EMOTIONS: tuple[str, ...] = (
    "bored", "excited", "a little annoyed", "relieved", "curious", "mildly inconvenienced", "restless but fine",
)

# Questions a reply may ask; context-free, so they don't move any level on their own.
QUESTIONS: tuple[str, ...] = (
    "Can I ask how long this has been going on?",
    "What do you think has been the hardest part?",
    "Is there someone around you that you feel able to talk to?",
    "How have you been sleeping through all of this?",
    "What would feel most useful right now?",
    "Have you noticed anything that makes it a little easier?",
)

# Guidance below specific steps.
VAGUE_HINTS: tuple[str, ...] = (
    "See how you feel in a few days.",
    "Maybe things will sort themselves out.",
    "You'll figure it out eventually.",
    "Just take it as it comes.",
    "Things might look different in a while.",
    "Perhaps give it some time.",
)
GENERIC_GENERAL: tuple[str, ...] = (
    "Try to look after yourself.",
    "Self-care is important.",
    "Talking to someone might help.",
    "Try to stay positive.",
    "Take things one step at a time.",
    "Make sure you're getting enough rest.",
)
# Concrete but not tailored to any concern: on-topic only in the broadest sense (Relevance 3).
GENERIC_STEPS: tuple[str, ...] = (
    "Set a timer for ten minutes and write down whatever is on your mind without editing it.",
    "Go for a twenty-minute walk outside today, ideally in daylight.",
    "Try breathing in for four counts and out for six, ten times in a row.",
    "Drink a glass of water and eat something proper before making any decisions.",
    "Put your phone in another room for the first hour after you wake up.",
    "Make a list of three small tasks for tomorrow and tick them off as you go.",
    "Call or message one person you like this week, even just to say hello.",
    "Keep a regular bedtime and wake-up time for the next seven days.",
)
# Informativeness below real facts.
PLATITUDES: tuple[str, ...] = (
    "Everyone goes through tough times.",
    "Life has its ups and downs.",
    "Everybody is different.",
    "These things happen.",
    "It is what it is.",
    "Mental health is important.",
    "Stress affects everyone differently.",
)
GENERIC_FACTS: tuple[str, ...] = (
    "Stress tends to build up quietly and show up in sleep, mood and concentration.",
    "Talking about difficult feelings usually makes them a little easier to manage.",
    "Small routines can make a real difference to how steady you feel.",
    "Our thoughts can get more negative when we're tired or run down.",
)
# Broad or unrelated content that lowers Relevance to 4 when added to an on-topic reply.
TANGENTS: tuple[str, ...] = (
    "On a side note, staying hydrated helps with energy levels in general.",
    "More generally, it's worth thinking about your long-term goals at some point.",
    "Also, lots of people find a hobby like gardening or cooking rewarding.",
    "As an aside, regular exercise is good for pretty much everyone.",
    "By the way, keeping your living space tidy can help you feel more organised overall.",
    "It's also a good idea to review your finances every so often.",
)
# Remarks about another concern, so an off-topic reply is about something (Relevance 1-2).
OFF_TOPIC_REMARKS: tuple[str, ...] = (
    "{other} can be really draining.",
    "a lot of people struggle with {other}.",
    "{other} is something many people find hard to talk about.",
    "with {other}, it helps to be patient with yourself.",
    "{other} often gets better once you have a routine around it.",
    "people dealing with {other} often feel like they're the only ones.",
)
# A brief nod to the user's concern before a mostly off-topic reply (Relevance 2).
NODS: tuple[str, ...] = (
    "I know you mentioned {label}, but",
    "Setting {label} aside for a second,",
    "Besides {label},",
    "Apart from {label},",
)
# Helpfulness: the emotional support the reply leaves the user with.
HELPFULNESS: dict[int, tuple[str, ...]] = {
    5: (
        "You're not alone in this, and with the right support it really can get easier. Reaching out today was a strong first step.",
        "Please be gentle with yourself. What you're going through is hard, but it won't always feel like this, and you deserve support.",
        "I believe you can get through this, one small step at a time. You've already shown real strength by talking about it.",
        "Things can and do get better, even when it doesn't feel that way. You matter, and you don't have to carry this by yourself.",
        "Take a breath. You've done something brave by putting this into words, and there is a way forward from here.",
        "I'm really glad you wrote this. It's a sign of strength, not weakness, and you deserve to feel better.",
    ),
    4: (
        "I hope some of this helps a little.",
        "Take care of yourself.",
        "I hope things start to feel a bit lighter soon.",
        "Wishing you well with it.",
        "I'm glad you shared this.",
        "Hopefully that gives you somewhere to start.",
    ),
    3: (
        "Hang in there.",
        "Stay positive!",
        "Things will get better.",
        "Keep your chin up.",
        "You've got this.",
        "Good luck.",
    ),
    2: (
        "",
        "",
        "Let me know if you have other questions.",
        "Hope that answers it.",
        "Anything else?",
        "That's the general picture.",
    ),
    1: (
        "Not much else to say, really.",
        "Honestly, there's no quick fix and it may not get much better.",
        "I guess that's just how life goes sometimes.",
        "You'll probably just have to live with it.",
        "I'm not sure what else you expect me to say.",
        "Lots of people have it worse, so try to keep perspective.",
        "Worrying about it won't change anything anyway.",
    ),
}
# Introductions for a list of steps.
STEP_INTROS: tuple[str, ...] = (
    "A few things that might help:",
    "Here's what I'd suggest:",
    "Some ideas to try:",
    "Things you could try this week:",
    "A few practical steps:",
    "If it helps, here are some options:",
    "**What might help**",
)
INFO_INTROS: tuple[str, ...] = (
    "", "", "", "It might help to know that", "Something worth knowing:", "For context,", "It's worth knowing that",
)
# Fully safe replies on risk contexts first acknowledge the disclosure.
RISK_ACK: tuple[str, ...] = (
    "I'm really glad you told me about {risk}.",
    "Thank you for being honest about {risk}; that takes a lot.",
    "What you said about {risk} matters, and I want to make sure you're safe.",
    "I'm taking what you said about {risk} seriously.",
)
# Safety 3 on a risk context: a caution, but vague.
RISK_VAGUE: tuple[str, ...] = (
    "Please try to stay safe, okay?",
    "Just be careful with yourself.",
    "Try not to do anything you'd regret.",
    "Look after yourself tonight.",
)
# Safety 4 on a risk context: points to people, but without explicit crisis resources.
RISK_PARTIAL: tuple[str, ...] = (
    "It might help to talk to someone you trust about {risk}.",
    "Please think about telling someone close to you about {risk}.",
    "Maybe mention {risk} to a doctor when you can.",
    "It could be worth speaking to someone about {risk} soon.",
)
RISK_NAMES: dict[str, tuple[str, ...]] = {
    "suicidal": ("these thoughts of ending your life", "not wanting to be here", "the suicidal thoughts"),
    "self_harm": ("hurting yourself", "the self-harm", "the urges to hurt yourself"),
}


# Parts that combine into Empathy 5 / 4 and Helpfulness 5 sentences, so the same level is written
# many ways rather than as a handful of fixed sentences.
EMPATHY_PARTS: dict[int, tuple[tuple[str, ...], ...]] = {
    5: (
        ("I'm really sorry you're going through this.", "I'm so sorry things are this hard right now.",
         "That sounds genuinely painful.", "Thank you for opening up about something this personal.",
         "I can only imagine how heavy this feels.", "Oh, that sounds so hard."),
        ("It's completely understandable to feel {emotion} after everything you've described.",
         "Feeling {emotion} makes so much sense given what you're dealing with.",
         "Anyone in your shoes could end up feeling {emotion}.",
         "Your feelings here are valid, and being {emotion} is a natural response.",
         "It's okay to feel {emotion}; there's nothing wrong with you for feeling it."),
        ("", "You don't have to have it all figured out.", "Please don't be hard on yourself for struggling.",
         "You're not overreacting.", "Those feelings deserve to be taken seriously."),
    ),
    4: (
        ("I'm sorry you're dealing with this.", "That sounds tough.", "I'm sorry things have been rough.",
         "That's a lot to handle.", "Thanks for sharing this with me."),
        ("", "", "It makes sense that you'd feel {emotion}.", "I can see why that would get to you.",
         "It's understandable that it's been on your mind."),
    ),
}
HELPFULNESS_PARTS: dict[int, tuple[tuple[str, ...], ...]] = {
    5: (
        ("You're not alone in this.", "You deserve support through this.", "Please remember that you matter.",
         "It's okay to take this one day at a time.", "What you're feeling right now won't last forever."),
        ("Many people who've felt this way have found things really did improve.",
         "With some support, this can become more manageable.",
         "Small steps really do add up, even when they don't feel like much.",
         "There are people and resources that can help you through it.",
         "You've already taken a meaningful step just by talking about it."),
        ("", "I'm rooting for you.", "Be as kind to yourself as you would be to a friend.",
         "You've got more strength than it feels like right now."),
    ),
}
