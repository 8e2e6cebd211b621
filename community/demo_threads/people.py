"""Who is in the demo community: a few power users who answer most questions in their field, regulars,
members who mostly read and vote, and many newcomers who joined to ask one or two questions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    username: str
    reputation: int = 1  # earned before the demo's history begins
    display_name: str = ""
    location: str = ""
    about: str = ""
    knows: str = ""  # tags they answer in (helpers); "" for members who do not answer
    answers: int = 0  # how keen a helper is: a relative weight
    time_zone: str = ""


# Those who answer: (weight) is how often they pick up a question in their tags.
HELPERS = [
    Member("sven", 8400, "Sven Halvorsen", "Leeds", "Radio engineer, 20 years in mobile networks. I answer here in my own time.",
           "signal coverage data 5g 4g outage apn volte hotspot tethering speed indoor", 10),
    Member("marta", 5200, "Marta Kowalska", "Bristol", "Ex call-centre team lead. Bills, plans and contracts hold no fear for me.",
           "billing plans contracts top-up refund cancellation price-rise direct-debit bundles payment", 9),
    Member("chen", 3200, "Chen Wei", "Manchester", "Phone nerd. eSIM evangelist. Will tell you to restart it first.",
           "esim iphone sim activation sim-swap puk pixel app smartwatch", 8),
    Member("jamal", 2400, "Jamal Idris", "London", "Travel for work most months. Roaming questions are my thing.",
           "roaming international-calls travel europe usa fair-use", 7, "Europe/London"),
    Member("gwen", 1500, "Gwen Price", "Cardiff", "", "porting pac-code account login security privacy sms", 6),
    Member("viktor", 1100, "", "Glasgow", "Android tinkerer.", "android samsung pixel hotspot tethering unlock apn data", 5),
    Member("priti", 780, "Priti Shah", "Leicester", "", "voicemail wifi-calling calls sms mms volte", 5),
    Member("dana", 620, "", "Norwich", "", "top-up pay-as-you-go bundles family parental-controls payment voucher", 4),
    Member("mod_maria", 12000, "", "Brighton", "Community moderator. Be kind, search first, accept answers that helped.",
           "sim esim billing roaming data signal plans", 3),
    Member("yusuf", 400, "", "Birmingham", "", "lost-phone insurance security spam", 3),
    Member("lena", 300, "", "York", "", "plans data usage family", 2),
    Member("uma", 210, "", "", "", "sms spam banking app", 2),
    Member("mike_t", 1300, "Mike Turner", "Newcastle", "Retired BT engineer.", "signal calls outage coverage international-calls", 3),
    Member("bartek", 880, "", "Nottingham", "", "roaming europe porting sim", 2),
    Member("deepa", 610, "Deepa R", "Leicester", "", "billing plans top-up account", 2),
    Member("fiona_c", 510, "Fiona Campbell", "Edinburgh", "", "esim iphone lost-phone voicemail", 2),
    Member("pete_r", 420, "", "Sheffield", "", "data hotspot android speed", 2),
    Member("emeka", 150, "", "Manchester", "", "billing porting", 1),
    Member("agnieszka", 330, "", "Reading", "", "family parental-controls plans", 1),
    Member("ifeoma", 260, "Ifeoma N", "London", "", "international-calls sms", 1),
    Member("sinead", 190, "", "Belfast", "", "roaming signal", 1),
    Member("tom_h", 140, "", "", "", "calls voicemail", 1),
]

# Members who ask now and then, and vote; some write the odd (not always right) answer.
REGULARS = [
    Member("alice", 1, "", "London"), Member("bob", 1), Member("farah", 60, "Farah"), Member("hiro", 35),
    Member("ines", 1), Member("kofi", 11), Member("nadia", 90, "", "Bath"), Member("oscar", 1), Member("quinn", 18),
    Member("rosa", 45, "Rosa M"), Member("tariq", 1), Member("wen", 14), Member("claire_d", 95, "Claire"),
    Member("rob_m", 55), Member("kev", 75, "Kev"), Member("helen.b", 45, "Helen B", "Exeter"), Member("ade", 25),
    Member("jonno", 30), Member("nina", 1), Member("olu", 1),  # nina and olu joined and have only read so far
]

# Joined to ask: (username, display name, location).
NEWCOMERS = [
    ("daveh", "Dave H", ""), ("sarah_jones", "Sarah Jones", "Swindon"), ("tomwright88", "", ""), ("kerry.m", "Kerry", ""),
    ("mo_ali", "Mo", "Luton"), ("beckyb", "", ""), ("jpatel", "J Patel", ""), ("liam_o", "", "Derry"),
    ("grace.k", "Grace", ""), ("owen_t", "", "Swansea"), ("hannah92", "", ""), ("rhys_w", "Rhys", ""),
    ("sophie.l", "", "Oxford"), ("callum_b", "", ""), ("aisha_r", "Aisha", "Bradford"), ("megan_h", "", ""),
    ("ciaran", "", "Dublin"), ("joanne_s", "Joanne S", ""), ("patrick.d", "", ""), ("zoe_m", "", ""),
    ("ben_c", "", "Ipswich"), ("imogen", "Imogen", ""), ("kwame_a", "", ""), ("ellie.r", "", ""),
    ("gareth_p", "Gareth", "Wrexham"), ("niamh", "", ""), ("adam_k", "", ""), ("laura_t", "Laura T", ""),
    ("harriet", "", "Cambridge"), ("dylan_j", "", ""), ("freya", "Freya", ""), ("marcus_l", "", "Coventry"),
    ("tasha", "", ""), ("raj_s", "Raj", ""), ("ollie_b", "", ""), ("chloe.w", "", "Plymouth"),
    ("ahmed_h", "Ahmed", ""), ("jess_t", "", ""), ("connor_m", "", "Hull"), ("amira", "", ""),
    ("luke_p", "", ""), ("sian_e", "Siân", "Aberystwyth"), ("fraser", "", "Inverness"), ("leah.c", "", ""),
    ("yasmin_k", "Yasmin", ""), ("will_h", "", ""), ("nathan_g", "", "Stoke"), ("bethan", "", ""),
    ("ruth_a", "Ruth", ""), ("stuart_m", "", "Perth"), ("paula_d", "", ""), ("george_f", "George", ""),
    ("ana_s", "", "Southampton"), ("eddie", "", ""), ("carys", "", ""), ("mark_t", "Mark", ""),
    ("jenny_l", "", ""), ("tony_r", "", "Blackpool"), ("holly_w", "Holly", ""), ("dan.k", "", ""),
]

STAFF = [Member("agent_sam", 1, "Sam (Kestrel support)"), Member("agent_priya", 1, "Priya (Kestrel support)")]

# An agent's comment on a question too vague to answer, before the ticket is closed for no response.
AGENT_ASKS = ("Hi, thanks for posting. Could you tell us a bit more: which phone you have, what happens when you try, "
              "and since when? Then we can look into it for you.")
