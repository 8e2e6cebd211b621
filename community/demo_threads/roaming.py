"""Using the phone abroad: Roam Like Home in Europe, Travel Pass further away, ferries, planes and surprise charges."""

from __future__ import annotations

from community.demo_threads import FAIR, GOOD, GREAT, MEH, POOR, STAFF, WRONG, a, q

RLH = """**Roam Like Home** covers the EU plus Norway, Iceland, Liechtenstein and Switzerland on every monthly plan: your
minutes, texts and data work as they do at home, up to 15GB of data abroad a month (the fair use limit).

On the phone, turn on *Data roaming* (iPhone: Settings > Mobile Data > Mobile Data Options; Android: Settings >
Connections > Mobile networks). Nothing to add in the app."""

TRAVEL_PASS = """Outside Europe you need the **Travel Pass**: £6 a day, charged only on days you use your phone there, and you
get your normal allowance. Add it in the app under Roaming > Travel Pass before you go. Without it, data is 10p/MB, which
gets expensive very quickly."""

MANUAL = """If the phone keeps grabbing a network that gives you signal bars but no data, switch network selection to
**manual** and pick one of our partners for that country (the list is in the app under Roaming > Partners). Remember to
set it back to automatic when you're home."""

THREADS = [
    q("Do I need to do anything to use my phone in Spain?",
      "First trip abroad in years. Flying to Malaga on Friday. Will my phone just work? I'm on the 20GB plan.",
      "roaming europe",
      a(RLH, GREAT, ok=True),
      a("Just turn data roaming on when you land. I was in Spain in May and it was all included.", GOOD),
      score=11),
    q("No data in France but calls work",
      """In Lyon for work. I can make calls and texts fine. Data roaming is ON. 4G shows at the top but nothing loads.
Restarted twice. iPhone 14.""",
      "roaming europe data",
      a(MANUAL, GOOD, ok=True, notes=("Chose one of the partners manually and it burst into life. Merci!",)),
      a("Check the APN is set, should be 'kestrel.internet'", FAIR),
      a("France isn't in the EU roaming deal any more since Brexit", WRONG,
        notes=("It is, Roam Like Home covers France.", "Kestrel kept EU roaming included, it's in the plan terms."))),
    q("How much is roaming in the USA?",
      "Going to New York for a week. What's the cheapest way to use my phone?",
      "roaming usa travel",
      a(TRAVEL_PASS, GREAT, ok=True),
      a("Get a local eSIM, way cheaper for a week", FAIR),
      score=6),
    q("Charged £38 for data in Turkey - I thought it was Europe!",
      """Just got back from Istanbul and I've been charged £38 for data. Turkey is in Europe isn't it?? I had data roaming on
because I assumed it was included. Very unhappy.

I went to Spain and Greece last year and never paid a penny, so I didnt think twice. I used maps and a bit of
Instagram, nothing crazy, maybe 300MB over three days according to my phone. £38 for that is daylight robbery.
I did get a text when I landed but it was just a generic "welcome" text with a link, I didn't read it properly,
fair enough, but surely it should say in big letters YOU WILL BE CHARGED. I've been with Kestrel 6 years.""",
      "roaming billing",
      a("Turkey isn't covered by Roam Like Home, it's in the Travel Pass zone. You should have had a text on arrival with the rates though.", FAIR),
      a("""I'm sorry this caught you out. Turkey is in our Travel Pass zone, which the welcome text explained, but as this is your
first time roaming outside Europe I've applied a one-off goodwill credit so you pay what a Travel Pass would have cost
(£6 a day for the 3 days you used data, £18). The £20 difference will be on your next bill.""", GOOD, ok=True, by=STAFF)),
    q("Is Switzerland included in roaming?",
      "Switzerland isn't in the EU so I'm guessing not?",
      "roaming europe",
      a("It is included on Kestrel, along with Norway, Iceland and Liechtenstein. Not every network includes it, so it's a fair question.", GOOD, ok=True)),
    q("Cruise ship roaming charges",
      "Going on a Med cruise. Will my phone work on the ship at sea and how much?",
      "roaming travel",
      a("""At sea the ship runs its own satellite network, which is **not** covered by anything: calls are £2.50/min and data £5/MB.
Put the phone in airplane mode while at sea and turn roaming back on when you're in port. Buy the ship's Wi-Fi if you need to be online.""", GREAT, ok=True,
        notes=("£5 a MB?! Glad I asked",)),
      a("Its included if the ship is in EU waters", WRONG)),
    q("Travel Pass charged every day even though I didn't use my phone",
      "I was in Thailand for 2 weeks and only used my phone on 3 days but was charged the Travel Pass for 9 days.",
      "roaming billing travel",
      a("Background apps count. If data roaming was on, your phone would have been using data (email sync, photo backup) even in your pocket. Only airplane mode or roaming off avoids the daily charge.", GOOD),
      a("I've checked the usage records: on 6 of those days there was background data use of a few MB each, so the pass was triggered. I've refunded 3 days as a gesture since the usage was tiny. Turning off data roaming on days you don't need it avoids this.", FAIR, ok=True, by=STAFF)),
    q("Roaming in Ireland and Northern Ireland border",
      "Live near the border in Fermanagh. Phone keeps switching to an Irish network. Am I being charged roaming?",
      "roaming europe signal",
      a("Ireland is in Roam Like Home so there's no extra cost even if it switches. If you want to stay on us, set network selection to manual at home.", GOOD, ok=True)),
    q("Can I use my data allowance in Dubai?",
      "Short trip, 4 days. Will the travel pass give me my full 30GB?",
      "roaming travel",
      a(TRAVEL_PASS, GOOD, ok=True),
      a("UAE blocks WhatsApp calls by the way, so don't count on those.", FAIR)),
    q("Roaming not working in Greece, says 'SIM not provisioned for roaming'",
      "That's the exact error. Never seen it before. Mykonos, Android phone.",
      "roaming europe",
      a("Roaming is switched off on your account: it's off by default on new accounts for the first 30 days. Turn it on in the app under Roaming > Allow roaming.", GOOD, ok=True,
        notes=("That was it! new account. Thanks",))),
    q("Do I get charged for receiving calls abroad?",
      "Does it cost anything if someone calls ME while I'm in Portugal?",
      "roaming europe calls",
      a("Not in Europe: receiving calls is free under Roam Like Home. Outside Europe, with a Travel Pass, also free. Without one, 90p/min.", GOOD, ok=True)),
    q("Data roaming fair use limit",
      "Living in Spain for 3 months. Will I get cut off from roaming?",
      "roaming europe fair-use",
      a("""Roaming is meant for travel: if you spend more time abroad than in the UK over 4 months, we may ask you to come home
or start charging a surcharge (we'll text you first). For a long stay, a Spanish SIM is the right answer.""", GOOD, ok=True),
      a("Just keep your phone off in the UK lol", POOR)),
    q("Plane wifi vs roaming",
      "Can I use my phone on the plane? My friend got charged £40 for a flight.",
      "roaming travel",
      a("In the air, phones connect to the plane's own network which is charged at satellite rates. Airplane mode on, and buy the in-flight wifi if you need it.", GOOD, ok=True)),
    q("How do I stop my kids racking up roaming charges?",
      "Taking 2 teenagers to Canada. Travel Pass x3 = £18 a day. Can I just block roaming on their lines?",
      "roaming family parental-controls",
      a("Yes: Account > each line > Roaming > Block roaming outside Europe. They'll still get wifi in the hotel.", GOOD, ok=True),
      a("Get them a shared local eSIM data plan instead, works out much cheaper than 3 travel passes.", GOOD)),
    q("Travel Pass not activating in Australia",
      "Added the Travel Pass before flying, I'm in Sydney, no data. Roaming on.",
      "roaming travel data",
      a(MANUAL, FAIR),
      a("Australia: make sure 4G/5G is on. The 3G networks there have been switched off, so if your phone is set to 3G only you'll get nothing.", GOOD, ok=True)),
    q("roaming texts keep coming every time I cross a border",
      "driving through europe, get a 'welcome to X' text every time, can I turn them off",
      "roaming europe sms",
      a("You can reply STOP to one of them, but they're legally required to tell you rates when entering a non-EU country, so those still arrive.", FAIR, ok=True)),
    q("Is Gibraltar included in Roam Like Home?",
      "Flying into Gib and crossing into Spain. Which applies?",
      "roaming europe",
      a("Gibraltar is treated like the UK on Kestrel, Spain is Roam Like Home. No extra cost either side.", GOOD, ok=True)),
    q("Roaming in Morocco",
      "Tangier day trip from Spain, will I get stung?",
      "roaming travel",
      a("Morocco is outside Europe so it's Travel Pass territory (£6 for the day). Watch out on the Spanish coast too: phones sometimes catch Moroccan masts from across the straits.", GREAT, ok=True)),
    q("Hotspot while roaming - allowed?",
      "Can I tether my laptop while in Italy? Need to do a bit of work.",
      "roaming hotspot europe",
      a("Yes, tethering is allowed abroad and comes from your Roam Like Home allowance.", GOOD, ok=True)),
    q("Any way to get a cheaper rate for a month in Canada?",
      "£6 a day x 30 = £180. Surely there's something better.",
      "roaming travel",
      a("Travel Pass is capped at £60 a month (10 days), so 30 days is £60 not £180. A local prepaid SIM is still cheaper for data though.", GOOD, ok=True,
        notes=("Didn't know about the cap! That changes things.",)),
      a("Yeah get a Canadian SIM mate", MEH)),
    q("Calls from Spain to UK numbers - included?",
      "I mean calling home (UK) while I'm in Spain, not calling Spanish numbers.",
      "roaming europe calls",
      a("Included: calling UK numbers from Europe uses your normal minutes.", GOOD, ok=True),
      a("Calling Spanish numbers from Spain is also included as of last year.", FAIR)),
    q("phone won't connect to any network in italy, just says emergency calls only",
      "Help! Emergency calls only since landing in Rome. Everything is on. I've tried turning it off and on.",
      "roaming europe signal",
      a(MANUAL, GOOD),
      a("Check your account isn't barred for roaming (new accounts are for 30 days) in the app.", GOOD, ok=True),
      a("Turn off VoLTE, fixed it for me in Spain", POOR)),
    q("Roaming in Albania and Montenegro",
      "Balkans trip. Some blogs say Montenegro is included on some UK networks?",
      "roaming travel europe",
      a("Not on Kestrel: both are in the Travel Pass zone. Bosnia too. Croatia is Roam Like Home.", GOOD, ok=True)),
    q("Visual voicemail abroad",
      "Does visual voicemail use data when roaming? Trying to keep usage down.",
      "roaming voicemail",
      a("A tiny amount (a voicemail is about 100KB). Negligible in Europe; outside Europe it triggers the Travel Pass day charge though.", FAIR, ok=True)),
    q("Used my phone in Jersey, charged roaming",
      "Jersey is basically the UK?! Why am I paying roaming?",
      "roaming billing",
      a("Jersey, Guernsey and the Isle of Man have their own networks and count as roaming on most UK networks. On Kestrel they're in the Roam Like Home list so you shouldn't have been charged.", GOOD),
      a("I've checked and you're right: a rating error charged your Jersey usage at the rest-of-world rate for two days. It's been corrected and the £12.40 refunded to your account.", GOOD, ok=True, by=STAFF)),
    q("Roaming data speed capped?",
      "In Germany, getting 0.5Mbps. Are roaming speeds limited?",
      "roaming europe data",
      a("Not capped by us. You're probably on a congested partner network or a 3G fallback; try choosing another partner manually.", FAIR, ok=True)),
]
