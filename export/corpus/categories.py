"""Concern categories: how to recognise each one and the on-topic content a reply can draw from."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    """One kind of concern a user can bring, with content banks written for this project.

    labels: second-person noun phrases naming the concern ("the loss you're carrying").
    emotions: feelings that usually come with it, used when the message names none.
    steps: specific, actionable next steps (imperative sentences).
    general: vague, non-specific direction about the same concern.
    facts: psychoeducation that explains what is going on.
    """

    key: str
    pattern: str
    labels: tuple[str, ...]
    emotions: tuple[str, ...]
    steps: tuple[str, ...]
    general: tuple[str, ...]
    facts: tuple[str, ...]
    serious: bool = False  # a professional pointer is expected in a fully safe reply
    weight: float = 1.0  # broad categories (family, relationship) count their keyword hits for less

    def matches(self, text: str) -> float:
        return self.weight * len(re.findall(self.pattern, text, flags=re.IGNORECASE))


CATEGORIES: tuple[Category, ...] = (
    Category(
        key="grief",
        pattern=r"\b(died|death|passed away|passing|funeral|grie\w*|loss of|lost my (mom|dad|mother|father|"
        r"wife|husband|son|daughter|brother|sister|friend|dog|cat|baby|grand\w+)|miscarriage|bereave\w*)\b",
        labels=("the loss you're carrying", "grieving someone you loved", "this bereavement",
                "losing someone so important to you", "the death you're still coming to terms with"),
        emotions=("heartbroken", "empty", "numb", "lost"),
        steps=(
            "Pick one small ritual for the hard moments, like lighting a candle or writing a short note to them each evening.",
            "Tell one trusted person which days are hardest (birthdays, anniversaries) so they can check in on you then.",
            "Keep a few basics steady for the next couple of weeks: regular meals, a set bedtime, and a short walk each day.",
            "Look for a bereavement support group nearby or online; hearing from people further along can help.",
            "When a wave of grief hits, let it come for ten minutes rather than fighting it, then do one grounding task.",
            "Put together a small box or album of things that remind you of them, and go through it when you choose to.",
            "If months pass and you still can't function day to day, book an appointment with a grief counsellor.",
        ),
        general=("Give yourself time to grieve.", "Try to lean on the people around you.",
                 "Be gentle with yourself while you process this."),
        facts=(
            "Grief rarely moves in neat stages; it tends to come in waves that can be set off by a smell, a song or a date.",
            "Feeling numb or even relieved alongside the sadness is common and doesn't mean you loved them any less.",
            "The first year often holds a lot of 'firsts' without the person, and those days can hit unexpectedly hard.",
            "Grief can show up in the body too: tiredness, poor sleep, trouble concentrating and changes in appetite.",
            "Continuing a bond with the person, through memories or rituals, is a healthy part of grieving for many people.",
        ),
    ),
    Category(
        key="anxiety",
        pattern=r"\b(anxi\w*|panic\w*|worr\w*|nervous|on edge|heart (is )?racing|racing heart|overthink\w*|"
        r"fear\w*|scared|dread)\b",
        labels=("the anxiety you've been dealing with", "these panic attacks", "the constant worrying",
                "feeling on edge all the time", "the fear that keeps coming up"),
        emotions=("anxious", "scared", "on edge", "overwhelmed"),
        steps=(
            "When panic starts, breathe in for four counts and out for six, and repeat for two minutes; the long out-breath slows your heart.",
            "Try the 5-4-3-2-1 exercise: name five things you see, four you can touch, three you hear, two you smell and one you taste.",
            "Set aside a fifteen-minute 'worry slot' each afternoon and jot worries down to deal with then, not at night.",
            "Cut back on caffeine for a week and notice whether the jittery feeling eases.",
            "Write down the worst, best and most likely outcome of the thing you're dreading.",
            "Ask your GP about cognitive behavioural therapy; it has strong evidence for anxiety and panic.",
            "Keep a short log of when the anxiety spikes so you can spot triggers and patterns.",
        ),
        general=("Try to relax when you can.", "Maybe find ways to calm down a bit.",
                 "Try not to worry so much about things."),
        facts=(
            "A panic attack is the body's alarm system firing without a real threat; it peaks within about ten minutes and passes.",
            "Avoiding the things that make you anxious brings short-term relief but tends to make the fear bigger over time.",
            "Physical symptoms like a pounding heart, tight chest or tingling hands are driven by adrenaline and are not dangerous in themselves.",
            "Anxiety often shows up as 'what if' thinking, where the mind keeps rehearsing the worst outcome.",
            "Anxiety problems are among the most treatable mental health conditions, and many people improve within a few months of therapy.",
        ),
    ),
    Category(
        key="sleep",
        pattern=r"\b(sleep\w*|insomnia|awake at night|can'?t sleep|nightmares?|tired all the time|exhausted|"
        r"bedtime|3 ?am)\b",
        labels=("the trouble you've had sleeping", "these sleepless nights", "lying awake night after night",
                "your insomnia", "the broken sleep"),
        emotions=("exhausted", "frustrated", "drained", "wired"),
        steps=(
            "Get up at the same time every day, weekends included, even after a bad night.",
            "If you're still awake after about twenty minutes, get out of bed and do something calm in dim light until you feel sleepy.",
            "Keep the bed for sleep only: no phone, laptop or work in bed.",
            "Stop caffeine after midday and avoid alcohol close to bedtime, since it breaks up sleep later in the night.",
            "Write a to-do list for tomorrow an hour before bed so your mind isn't holding onto it.",
            "Try a short body scan or slow breathing exercise once the lights are off.",
            "If poor sleep lasts more than a few weeks, ask your doctor about CBT for insomnia.",
        ),
        general=("Try to get more rest.", "Maybe look into sleeping better.", "Try to relax before bed."),
        facts=(
            "Lying in bed awake teaches the brain to link the bed with being alert, which is why getting up can actually help.",
            "Insomnia and low mood feed each other: poor sleep makes emotions harder to manage, and worry keeps you awake.",
            "Screens before bed keep the mind engaged, and bright light can delay the body's sleep signal.",
            "Most people wake briefly several times a night; it's the worrying about being awake that stretches it out.",
            "Alcohol may help you drop off but it fragments sleep in the second half of the night.",
        ),
    ),
    Category(
        key="breakup",
        pattern=r"\b(broke up|break ?up|breakup|my ex\b|ex-?(boyfriend|girlfriend|husband|wife|partner)|dumped|"
        r"divorc\w*|cheat\w*|left me|heartbreak\w*|separated)\b",
        labels=("the breakup", "the end of your relationship", "being left by someone you loved",
                "what happened with your ex", "this heartbreak"),
        emotions=("heartbroken", "rejected", "lonely", "hurt"),
        steps=(
            "Mute or unfollow your ex on social media for now so you're not reopening the wound every day.",
            "Write down the reasons the relationship wasn't working and reread them when you idealise it.",
            "Plan something for the evenings and weekends that used to be 'your' time together.",
            "Reach out to one friend this week you may have drifted from during the relationship.",
            "Set a rule to wait 24 hours before sending any message to your ex.",
            "Return or box up their things so they aren't in your line of sight every day.",
        ),
        general=("Try to move on when you're ready.", "Focus on yourself for a while.",
                 "Give it some time and things will settle."),
        facts=(
            "Breakups activate some of the same brain systems as physical pain, which is why they can hurt in such a bodily way.",
            "Checking an ex's profile keeps the attachment active and usually slows recovery.",
            "It's common to swing between missing the person and feeling angry or relieved, sometimes in the same hour.",
            "Rumination, replaying what you could have done differently, is a normal part of heartbreak but tends to ease with time and distraction.",
        ),
    ),
    Category(
        key="relationship",
        pattern=r"\b(boyfriend|girlfriend|husband|wife|partner|spouse|marriage|married|relationship|"
        r"fiance\w*|argu\w+|fight(ing)?)\b",
        labels=("the problems in your relationship", "the conflict with your partner", "what's going on between you and your partner",
                "the strain in your marriage", "feeling unheard by your partner"),
        emotions=("frustrated", "hurt", "unheard", "confused"),
        steps=(
            "Pick a calm moment, not mid-argument, and ask your partner for twenty minutes to talk about one specific issue.",
            "Use 'I' statements, such as 'I feel left out when plans change last minute', instead of 'you always'.",
            "Agree on a pause word either of you can use when an argument is escalating, then come back to it after half an hour.",
            "Write down what you need from the relationship before the conversation so you stay focused.",
            "Consider couples counselling; many counsellors offer a first session to see whether it fits.",
            "Notice one thing your partner does well this week and tell them; it lowers defensiveness for harder talks.",
        ),
        general=("Try to talk things through with them.", "Communication is key in relationships.",
                 "Maybe spend some more time together."),
        facts=(
            "Most recurring couple arguments are about underlying needs, like feeling respected or close, rather than the surface topic.",
            "Criticism, contempt, defensiveness and stonewalling are patterns researchers link to relationships breaking down.",
            "When people feel flooded in an argument, their heart rate rises and listening becomes almost impossible, so breaks help.",
            "Couples who repair after conflict, even with small gestures, tend to do better than couples who never argue.",
        ),
        weight=0.7,
    ),
    Category(
        key="work",
        pattern=r"\b(at work|my work|workplace|working (late|long|hours)|job|boss|manager|cowork\w*|colleague\w*|office|career|"
        r"deadline\w*|burn(ed|t)? ?out|fired|laid off|promotion|workload|shifts?|employ\w+)\b",
        labels=("the stress at work", "the pressure your job is putting on you", "things with your boss",
                "the burnout from work", "the workload you're under"),
        emotions=("stressed", "burnt out", "overwhelmed", "undervalued"),
        steps=(
            "List everything on your plate, mark the three that truly matter this week, and tell your manager which ones will slip.",
            "Block a real lunch break in your calendar and step away from the screen for it.",
            "Set a stop time for work in the evening and turn off notifications after it.",
            "Book a one-to-one with your manager and bring specific examples of the workload and what would help.",
            "Check whether your workplace has an employee assistance programme; many offer free confidential counselling.",
            "Keep a short record of incidents with dates if a colleague or boss is treating you unfairly.",
        ),
        general=("Try to find a better work-life balance.", "Maybe talk to someone at work.",
                 "Don't let work get to you too much."),
        facts=(
            "Burnout usually shows up as exhaustion, cynicism about the job and a sense of not getting anything done.",
            "Long stretches of high demand with little control are one of the strongest predictors of work stress.",
            "Constant email checking keeps the stress response switched on even when you're at home.",
            "Recovery time matters: people who fully switch off in the evening report less burnout over time.",
        ),
    ),
    Category(
        key="bullying",
        pattern=r"\b(bull(y|ied|ies|ying)|picked on|teas(e|ed|ing)|harass\w*|made fun of|mock\w*|excluded|"
        r"cyberbull\w*|name-?calling)\b",
        labels=("the bullying", "being picked on", "the way those people have been treating you",
                "the harassment you've been facing", "being targeted like this"),
        emotions=("humiliated", "alone", "scared", "angry"),
        steps=(
            "Save screenshots and write down dates of what happened; a record makes it much easier to get action taken.",
            "Tell one adult or person in charge you trust, such as a teacher, school counsellor or HR, this week.",
            "Block and report the accounts involved if any of it is happening online.",
            "Stay near people you feel safe with in the places where it usually happens.",
            "Practise one short, calm response you can use and then walk away.",
            "If you're ever threatened or hurt physically, tell someone in authority straight away.",
        ),
        general=("Try to ignore them.", "Stay strong.", "Maybe talk to someone about it."),
        facts=(
            "Bullying says far more about the person doing it than about the person targeted.",
            "Being bullied can lead to anxiety, low mood and avoiding school or work, so the effects you feel are real.",
            "Schools and workplaces generally have a duty to act on bullying once it's reported.",
            "Repeated exclusion and online harassment count as bullying just as much as physical aggression does.",
        ),
    ),
    Category(
        key="self_harm",
        pattern=r"\b(self[- ]?harm\w*|cut(ting)? myself|cutting|hurt(ing)? myself|burn(ing)? myself|scratch(ing)? myself|"
        r"scars?|urges? to (cut|hurt))\b",
        labels=("the urges to hurt yourself", "the self-harm", "wanting to hurt yourself",
                "hurting yourself to cope", "these urges"),
        emotions=("overwhelmed", "ashamed", "numb", "desperate"),
        steps=(
            "When an urge comes, try to delay it by fifteen minutes and do something intense but safe, like holding ice or a cold shower.",
            "Write down what happened right before the last few urges so you can see what sets them off.",
            "Make a short list of two or three people you can text when the urge is strong.",
            "Put anything you could use to hurt yourself somewhere harder to reach, or give it to someone for now.",
            "If you do hurt yourself and the wound is deep or won't stop bleeding, get medical help right away.",
            "Talk to your GP or a counsellor about the self-harm; they see this often and will not judge you.",
        ),
        general=("Try to find other ways to cope.", "Maybe distract yourself when it happens.",
                 "Try to be kinder to yourself."),
        facts=(
            "Self-harm is usually a way of coping with overwhelming feelings rather than a wish to die, but it still deserves real support.",
            "The relief after self-harm is short-lived, and the urges often come back stronger over time.",
            "Urges tend to rise and fall like a wave, so delaying even a little can let them pass.",
            "Many people who self-harm feel intense shame about it, which makes reaching out feel harder than it should be.",
        ),
        serious=True,
    ),
    Category(
        key="suicidal",
        pattern=r"\b(suicid\w*|kill(ing)? myself|end(ing)? (my|it all)|end my life|don'?t want to (live|be here|wake up)|"
        r"better off (dead|without me)|want to die|no reason to live|take my (own )?life)\b",
        labels=("the thoughts of ending your life", "feeling like you don't want to be here",
                "these suicidal thoughts", "the hopelessness you're feeling", "thinking about dying"),
        emotions=("hopeless", "exhausted", "trapped", "alone"),
        steps=(
            "If you feel you might act on these thoughts, call emergency services or go to the nearest emergency department now.",
            "Reach out to a crisis line today; in the US you can call or text 988, and other countries have their own free lines.",
            "Tell one person you trust how bad things have got, even just by text: 'I'm not okay and I need you to know.'",
            "Make the place you're in safer by putting away anything you could use to hurt yourself, or asking someone to hold onto it.",
            "Write a short safety plan: your warning signs, what helps a little, who you can contact, and the crisis number.",
            "Book an urgent appointment with your doctor or mental health team and tell them about these thoughts directly.",
        ),
        general=("Try to hold on.", "Reach out if it gets worse.", "Try to think about the good things."),
        facts=(
            "Suicidal thoughts often come with a narrowing of vision where it feels like there's no other way out, but that state can change.",
            "Most people who feel this way and get support find that the intensity passes, even if it doesn't feel possible now.",
            "Talking openly about suicidal thoughts doesn't make them more likely; it usually brings relief.",
            "Crisis intensity tends to peak and ease, so getting through the next few hours safely really matters.",
        ),
        serious=True,
    ),
    Category(
        key="eating",
        pattern=r"\b(eat(ing)?|food|meals?|binge\w*|purg\w*|anorexi\w*|bulimi\w*|calori\w*|weight|fat|skinny|"
        r"diet\w*|starv\w*|throw(ing)? up|body image)\b",
        labels=("your relationship with food", "the struggles around eating", "the way you feel about your body and weight",
                "the bingeing and restricting", "the pressure you put on yourself about food"),
        emotions=("ashamed", "out of control", "anxious", "disgusted with yourself"),
        steps=(
            "Aim for regular meals and snacks every three to four hours, even when you don't feel like it; skipping meals tends to trigger bingeing.",
            "Unfollow accounts that leave you comparing your body or counting calories.",
            "Write down what you were feeling before a binge or a skipped meal to spot the emotional triggers.",
            "Tell your GP about what's been happening with food; eating disorders respond best to early specialist help.",
            "Plan one meal a day with someone you feel safe with.",
            "Replace weighing yourself daily with not weighing at all for a couple of weeks.",
        ),
        general=("Try to eat healthier.", "Maybe be more positive about your body.", "Try to have a balanced diet."),
        facts=(
            "Restricting food often sets up the binge that follows, because the body responds to hunger by pushing you to eat.",
            "Eating disorders are serious mental health conditions, not a matter of willpower or vanity.",
            "Thoughts about food and weight can take up more and more headspace the longer restriction goes on.",
            "Recovery is very possible, especially with a team that looks after both the physical and emotional sides.",
        ),
        serious=True,
    ),
    Category(
        key="substance",
        pattern=r"\b(drink\w*|alcohol\w*|drunk|beer|wine|vodka|weed|cannabis|marijuana|drugs?|cocaine|"
        r"addict\w*|relapse\w*|sober|sobriety|hungover|vap\w+|smok\w+)\b",
        labels=("your substance use", "the drinking or using", "trying to cut back", "using to cope",
                "the pull towards drinking or using"),
        emotions=("ashamed", "stuck", "worried", "out of control"),
        steps=(
            "Keep a simple diary of when, where and how much you drink or use for two weeks, without judging it.",
            "Pick two alcohol-free days this week and plan what you'll do on those evenings instead.",
            "Remove what you'd normally use from the house so there's a pause before acting on a craving.",
            "When a craving hits, set a timer for twenty minutes and ride it out; cravings peak and then fade.",
            "Talk to your doctor before stopping if you drink heavily every day, because quitting suddenly can be dangerous.",
            "Look up a local or online mutual support group and try one meeting, just to see what it's like.",
        ),
        general=("Maybe try to cut down.", "Try to drink less.", "Be careful with that stuff."),
        facts=(
            "Alcohol briefly lifts mood but it's a depressant, so over time it tends to deepen anxiety and low mood.",
            "Cravings are often triggered by specific places, people, times or feelings, which is why planning around them works.",
            "Heavy daily drinkers can get dangerous withdrawal symptoms if they stop abruptly, so medical support matters.",
            "Using to cope with feelings can quietly become the main way of coping, which makes the feelings harder to handle without it.",
        ),
        serious=True,
    ),
    Category(
        key="postpartum",
        pattern=r"\b(postpartum|post-partum|postnatal|newborn|new mom|new mum|my baby|since the baby|breastfeed\w*|"
        r"pregnan\w*|gave birth|maternity)\b",
        labels=("the struggle since the baby arrived", "feeling low after giving birth",
                "the early months with your baby", "what you're going through as a new parent",
                "the dark feelings since the birth"),
        emotions=("overwhelmed", "guilty", "exhausted", "disconnected"),
        steps=(
            "Tell your midwife, health visitor or GP how you've been feeling; postnatal depression is common and treatable.",
            "Ask a partner, relative or friend to take one night feed or a few hours so you can sleep in a block.",
            "Lower the bar for the house and meals for now; fed baby and rested parent come first.",
            "Get outside with the baby for ten minutes a day, even just around the block.",
            "Look for a local new-parent group or an online community for parents with postnatal depression.",
            "If you ever have thoughts of harming yourself or the baby, contact your doctor or emergency services the same day.",
        ),
        general=("Enjoy this special time.", "Try to rest when you can.", "It gets easier as they grow."),
        facts=(
            "Postnatal depression affects roughly one in ten new mothers, and partners can experience it too.",
            "The 'baby blues' usually pass within two weeks; feelings that last longer or get worse deserve attention.",
            "Sleep deprivation alone can dramatically worsen mood and make everything feel harder.",
            "Feeling disconnected from your baby at first is more common than people admit, and bonding often grows with time and support.",
        ),
        serious=True,
    ),
    Category(
        key="trauma",
        pattern=r"\b(trauma\w*|ptsd|abus\w*|assault\w*|rape\w*|molest\w*|flashbacks?|violent|violence|attack(ed)?|"
        r"accident|war|hit me|beat me)\b",
        labels=("what happened to you", "the trauma you've lived through", "these flashbacks",
                "carrying the memory of what they did", "the abuse you experienced"),
        emotions=("scared", "on guard", "ashamed", "shaken"),
        steps=(
            "When a flashback starts, press your feet into the floor, name where you are and today's date out loud.",
            "Keep a grounding object, like a smooth stone or a strong scent, with you to bring you back to the present.",
            "Ask your GP for a referral to a trauma-focused therapy such as trauma-focused CBT or EMDR.",
            "Notice which places, sounds or situations set off the memories, and plan some support for those times.",
            "If you are still in contact with the person who hurt you and feel unsafe, contact a domestic abuse helpline to plan for your safety.",
            "Tell one safe person a little about what you're going through, only as much as you want to.",
        ),
        general=("Try to put it behind you.", "Focus on the present.", "Try to move forward."),
        facts=(
            "Flashbacks, nightmares and feeling constantly on guard are normal reactions of a nervous system that's been through danger.",
            "Trauma can make the body react as if the danger is happening now, even when you know you're safe.",
            "Avoiding reminders makes sense in the short term but can keep the memories raw.",
            "Trauma-focused therapies help most people, and they don't require you to share every detail straight away.",
        ),
        serious=True,
    ),
    Category(
        key="loneliness",
        pattern=r"\b(lonel\w*|alone|isolat\w*|no friends|no one to talk|nobody|left out|by myself|moved away|"
        r"friendless)\b",
        labels=("feeling so alone", "the loneliness", "not having people around you",
                "feeling cut off from others", "the isolation"),
        emotions=("lonely", "invisible", "sad", "left out"),
        steps=(
            "Send one low-pressure message today to someone you've lost touch with, like 'Saw this and thought of you'.",
            "Sign up for one regular group activity, such as a class, club or volunteering, where you'll see the same faces weekly.",
            "Say yes to one invitation this month even if you're tempted to cancel.",
            "Spend some time in shared places like a library or café rather than always at home.",
            "Try an online community around something you care about, then suggest a call with one person there.",
            "Schedule a weekly call with a family member or friend so contact doesn't depend on mood.",
        ),
        general=("Try to get out more.", "Maybe make some new friends.", "Try to be more social."),
        facts=(
            "Loneliness is about the gap between the connection you have and the connection you want, not the number of people around you.",
            "Long-term loneliness can make people more wary of others, which makes reaching out feel harder.",
            "Friendships usually form through repeated, casual contact, which is why regular activities work better than one-off events.",
            "Loneliness is very common, especially after moves, breakups or life changes.",
        ),
    ),
    Category(
        key="caregiver",
        pattern=r"\b(caregiv\w*|caring for|care of|look(ing)? after my|dementia|alzheimer\w*|disabled (son|daughter|"
        r"mother|father)|my (sick|elderly|aging|ageing) (mom|dad|mother|father|parent)|nursing home|carer)\b",
        labels=("caring for someone you love", "the weight of looking after them", "carer burnout",
                "everything you're carrying as a caregiver", "being on call for them all the time"),
        emotions=("exhausted", "resentful", "guilty", "stretched thin"),
        steps=(
            "Ask your local council or health service for a carer's assessment; it can unlock respite and practical help.",
            "Write down the tasks you do in a week and ask family to take on specific ones, not 'help when you can'.",
            "Book one regular hour a week that's just for you, and arrange cover for it in advance.",
            "Join a carers' support group, in person or online, to talk with people who get it.",
            "Check whether day centres or sitting services exist nearby so you can take breaks.",
            "See your own doctor about how tired you are; carers' health often gets neglected.",
        ),
        general=("Remember to take care of yourself too.", "Try to take breaks.", "Ask for help sometimes."),
        facts=(
            "Feeling resentment or even wishing it were over is very common in carers and doesn't make you a bad person.",
            "Carer burnout builds up slowly, and exhaustion, irritability and withdrawing from friends are early signs.",
            "Carers who get regular respite tend to be able to keep caring for longer and with less strain.",
            "Many carers don't see themselves as 'carers', so they miss out on support they're entitled to.",
        ),
    ),
    Category(
        key="identity",
        pattern=r"\b(gay|lesbian|bisexual|bi\b|queer|trans\w*|gender|nonbinary|non-binary|sexuality|coming out|"
        r"came out|lgbt\w*|pronouns|identity|who i am)\b",
        labels=("working out who you are", "your identity", "coming out",
                "the way people react to who you are", "questioning your sexuality or gender"),
        emotions=("confused", "afraid of rejection", "alone", "torn"),
        steps=(
            "Look for an LGBTQ+ youth or community group, online or local, where you can talk with people who've been there.",
            "You don't have to come out to everyone at once; start with the one person you feel safest with, if and when you want.",
            "Write down what you already know about yourself and what you're still unsure about; both are allowed.",
            "If home isn't safe to be open, keep a list of supportive contacts and helplines you can use privately.",
            "Find an affirming counsellor; many directories let you filter for LGBTQ+-friendly therapists.",
        ),
        general=("Just be yourself.", "Don't worry about what others think.", "It'll work itself out."),
        facts=(
            "Questioning your identity is a normal process, and there's no deadline for having answers.",
            "The stress LGBTQ+ people feel often comes from stigma and rejection rather than from who they are.",
            "Having even one accepting person in your life makes a measurable difference to wellbeing.",
            "Coming out is usually not a single event but a series of choices about who to tell and when.",
        ),
    ),
    Category(
        key="school",
        pattern=r"\b(exams?|tests?|school|college|universit\w*|class(es)?|grades?|homework|study\w*|studies|"
        r"teacher|professor|semester|gpa|assignments?|finals)\b",
        labels=("the exam stress", "the pressure at school", "keeping up with your studies",
                "worrying about your grades", "the workload at university"),
        emotions=("stressed", "panicked", "behind", "not good enough"),
        steps=(
            "Break revision into 25-minute blocks with 5-minute breaks and plan which topic goes in each block.",
            "Make a one-page timetable for the days before the exam so you can see it's doable.",
            "Practise with past papers under timed conditions; it reduces surprise on the day.",
            "Email your tutor or student support about the pressure; ask about extensions or accommodations if you need them.",
            "Keep sleep protected in exam week; an all-nighter usually costs more than it gives.",
            "Study with one friend once a week so you're not carrying it alone.",
        ),
        general=("Just study harder.", "Try to do your best.", "Don't stress too much about grades."),
        facts=(
            "Some stress improves focus, but past a point it starts to block memory and recall.",
            "Testing yourself and spacing out revision are two of the most reliable ways to remember material.",
            "Sleep is when the brain consolidates what you've learned, so cutting it tends to backfire.",
            "Perfectionism often shows up as procrastination, because starting feels like risking failure.",
        ),
    ),
    Category(
        key="medication",
        pattern=r"\b(medicat\w*|meds|antidepressant\w*|ssri\w*|sertraline|fluoxetine|prozac|zoloft|lexapro|lithium|"
        r"prescri\w*|dosage|dose|side effects?|psychiatrist|pill)\b",
        labels=("your questions about the medication", "the side effects you've noticed", "the question of whether to keep taking your meds",
                "the medication's effects on you", "your worries about the prescription"),
        emotions=("unsure", "worried", "frustrated", "uneasy"),
        steps=(
            "Write down the side effects you've noticed, when they started and how strong they are, and take the list to your prescriber.",
            "Don't stop or change the dose on your own; ask your doctor or pharmacist about adjusting it safely.",
            "Ask your pharmacist which side effects usually settle in the first few weeks and which need a call back.",
            "Set a daily alarm to take it at the same time, which can smooth out some side effects.",
            "Book a medication review if you've been on the same prescription for a long time without a check-in.",
            "If you notice severe side effects like a rash, fainting or new thoughts of self-harm, contact a doctor urgently.",
        ),
        general=("Talk to someone about it.", "Medication works differently for everyone.", "Give it a bit of time."),
        facts=(
            "Many antidepressants take four to six weeks to reach their full effect, and early side effects often fade.",
            "Stopping some psychiatric medications suddenly can cause withdrawal-like symptoms or a relapse, which is why tapering is planned.",
            "There are usually several options within each medication class, so a poor fit with one doesn't mean nothing will work.",
            "Feeling better on medication is often a sign it's working, not that you no longer need it.",
        ),
        serious=True,
    ),
    Category(
        key="anger",
        pattern=r"\b(anger|angry|rage|furious|temper|snap(ped)? at|yell\w*|scream\w*|lose it|lost it|irritab\w*|"
        r"punch\w*|throw(ing)? things)\b",
        labels=("the anger you've been struggling with", "losing your temper", "the way things boil over so quickly",
                "the outbursts", "snapping at people you care about"),
        emotions=("angry", "ashamed afterwards", "frustrated", "on a short fuse"),
        steps=(
            "Learn your early warning signs, like clenched jaw or heat in your face, and leave the room for ten minutes when you notice them.",
            "Use a cool-down routine: slow breathing, cold water on your face, a quick walk.",
            "After an outburst, write down what happened just before it to find the pattern.",
            "Apologise specifically once things are calm, naming what you did without excuses.",
            "Cut down on alcohol, which makes it much harder to hold back in the moment.",
            "Look into an anger management course or counsellor; they teach concrete skills that work.",
        ),
        general=("Try to calm down.", "Count to ten.", "Don't let things get to you."),
        facts=(
            "Anger often sits on top of other feelings like hurt, fear or shame.",
            "Once anger peaks, the thinking part of the brain goes partly offline, which is why stepping away works better than arguing.",
            "Tiredness, hunger and stress all lower the threshold for anger.",
            "Venting by hitting things tends to rehearse the anger rather than release it.",
        ),
    ),
    Category(
        key="depression",
        pattern=r"\b(depress\w*|sad(ness)?|hopeless\w*|empty|numb|unmotivated|no motivation|can'?t get out of bed|"
        r"worthless|low mood|feeling down|miserable|crying|cry)\b",
        labels=("the low mood", "feeling so down", "the emptiness you've described",
                "struggling to get through each day", "this depression"),
        emotions=("down", "empty", "hopeless", "worn out"),
        steps=(
            "Pick one small, doable thing each day, such as a shower, a short walk or texting a friend, and count it as a win.",
            "Get some daylight in the morning, even five minutes by a window or outside.",
            "Write down three activities that used to give you a bit of pleasure and schedule one this week, even if you don't feel like it.",
            "Keep a simple mood diary for two weeks to spot what helps and what makes it worse.",
            "Book an appointment with your GP and tell them how long you've been feeling this way.",
            "Tell one person you trust that you've been struggling.",
        ),
        general=("Try to stay positive.", "Do things you enjoy.", "Try to keep busy."),
        facts=(
            "Depression drains motivation first, so waiting to feel like doing something usually means waiting a long time; action tends to come before motivation.",
            "Low mood narrows attention onto negatives, which can make everything look worse than it is.",
            "Depression is very common and highly treatable with talking therapy, medication, or both.",
            "Withdrawing from people and activities feels protective but usually deepens depression.",
        ),
        serious=True,
    ),
    Category(
        key="family",
        pattern=r"\b(mom|mum|dad|mother|father|parents?|stepfather|stepmother|siblings?|brother|sister|family|"
        r"in-laws?|grandmother|grandfather|son|daughter|kids?|children)\b",
        labels=("the tension in your family", "things with your parents", "the conflict at home",
                "the way your family has been treating you", "your family situation"),
        emotions=("hurt", "frustrated", "unappreciated", "torn"),
        steps=(
            "Choose one relative to talk to first, at a calm time, about one specific thing that's been hurting you.",
            "Decide in advance what you will and won't discuss at family gatherings, and have an exit line ready.",
            "Write a letter, sent or not, setting out how you feel; it helps clarify what you actually want from them.",
            "Set a limit on visits or calls if they leave you drained, and tell them kindly but clearly.",
            "Consider family counselling or mediation if everyone is willing to try.",
            "Find space outside the house, like a friend's place or a library, when home gets tense.",
        ),
        general=("Family is complicated.", "Try to get along with them.", "Maybe talk to them."),
        facts=(
            "Family roles set in childhood often carry into adult relationships until someone changes the pattern.",
            "Boundaries with family are about what you will do, not about controlling how they behave.",
            "It's possible to love family members and still need distance from them.",
            "Conflict in families often repeats because each person reacts to the others' reactions in a loop.",
        ),
        weight=0.5,
    ),
    Category(
        key="self_esteem",
        pattern=r"\b(confiden\w*|self[- ]?esteem|self[- ]?worth|insecur\w*|not good enough|hate myself|"
        r"failure|ugly|compar\w*|imposter|inadequate|useless)\b",
        labels=("the harsh way you see yourself", "the feeling of not being good enough", "your confidence",
                "the self-criticism", "feeling like a failure"),
        emotions=("inadequate", "insecure", "ashamed", "discouraged"),
        steps=(
            "Each evening, write down one thing you handled reasonably well that day, however small.",
            "When you catch a harsh thought about yourself, ask what you'd say to a friend in the same spot, and write that down.",
            "Limit time on apps that leave you comparing yourself to others, and notice how you feel afterwards.",
            "Set one small goal this week you can definitely achieve, and follow through on it.",
            "Ask a trusted friend what they value about you and keep their answer somewhere you'll see it.",
        ),
        general=("Believe in yourself.", "You should be more confident.", "Love yourself more."),
        facts=(
            "Low self-esteem is usually learned from past experiences and keeps itself going through a harsh inner critic.",
            "The mind tends to notice evidence that confirms what we already believe about ourselves and overlook the rest.",
            "Self-compassion is linked to more motivation, not less; being harsh with yourself tends to backfire.",
            "Comparing your inside to other people's outside, especially online, is rarely a fair comparison.",
        ),
    ),
)

BY_KEY: dict[str, Category] = {c.key: c for c in CATEGORIES}

# Used when a message matches no category: content that is on-topic for almost any concern, but thin.
GENERAL = Category(
    key="general",
    pattern=r"(?!x)x",
    labels=("what you've described", "the situation you're in", "everything you've been dealing with",
            "what's been going on for you lately"),
    emotions=("stressed", "unsettled", "overwhelmed", "uncertain"),
    steps=(
        "Write down the part of this that worries you most and one small thing you could do about it this week.",
        "Talk it through with someone you trust and ask them what they notice.",
        "Notice when these feelings are strongest during the day and what tends to set them off.",
        "Consider booking a few sessions with a counsellor to work through it with someone trained.",
        "Separate what's in your control from what isn't, and pick one thing in the first list to act on.",
        "Before reacting next time, pause and name the feeling to yourself; it creates a little space to choose.",
        "Jot down what you'd ideally want to be different in six months; it can point to the first step.",
        "Practise saying what you need in one clear sentence before the conversation you're dreading.",
    ),
    general=("Try to take it one day at a time.", "Look after yourself.", "Give it some thought."),
    facts=(
        "Talking things through tends to make them clearer, because putting experiences into words helps you step back from them.",
        "Stress and uncertainty often show up in sleep, appetite and concentration before we notice them emotionally.",
        "Old patterns from earlier in life often shape how we react now, and noticing them is usually the first step to changing them.",
        "Mixed feelings about the same situation or person are normal; holding both doesn't mean you're confused.",
        "Naming an emotion precisely, rather than just 'bad', has been shown to make it easier to regulate.",
        "When people feel unheard, they often repeat themselves louder, which can turn a talk into a standoff.",
    ),
)

RISK_KEYS = frozenset({"suicidal", "self_harm"})


def category(key: str) -> Category:
    """The category with this key (``general`` included)."""
    return GENERAL if key == "general" else BY_KEY[key]
