"""Calling and texting other countries from the UK: the International add-on, rates, failing calls."""

from __future__ import annotations

from community.demo_threads import FAIR, GOOD, GREAT, POOR, STAFF, WRONG, a, q

ADDON = """Calls to other countries aren't in the plan's minutes. Two options:

* **International add-on**, £5 a month: 200 minutes to landlines and mobiles in 50 countries (the list is in the app).
* Pay as you go: from 2p/min (EU landlines) to £1.50/min (satellite phones). The app's *International rates* page has
  the price per country.

Dial `+` (hold 0), the country code, then the number without its leading 0."""

FORMAT = """The usual culprit is the format. Use **+country code**, then the number **without** its first 0. For example
a Polish mobile: `+48 601 234 567`, not `0048 0601...` and not `0601...`. Save contacts that way and texts and calls
both start working."""

THREADS = [
    q("Cheapest way to call family in Nigeria?",
      "I call my mum in Lagos about 3 hours a month. What should I get?",
      "international-calls",
      a(ADDON, GREAT, ok=True),
      a("WhatsApp call over wifi, free", FAIR, notes=("She doesn't have a smartphone unfortunately.",))),
    q("Calls to India fail with 'call cannot be completed'",
      "Trying to ring a mobile in Chennai. Get a beep and 'call cannot be completed as dialled'.",
      "international-calls",
      a(FORMAT, GOOD, ok=True),
      a("Indian networks block foreign calls sometimes, try later", POOR)),
    q("Is calling Ireland from the UK international?",
      "Seems daft but is a call to a Dublin number charged as international?",
      "international-calls europe",
      a("Yes, from the UK it's international: not in your UK minutes. It's in the International add-on's 50 countries though.", GOOD, ok=True)),
    q("Texts to a US number not delivered",
      "My texts to my friend in Texas show as sent but she never gets them.",
      "international-calls sms usa",
      a(FORMAT, FAIR),
      a("US numbers sometimes reject texts from abroad if they're on a prepaid plan that blocks international SMS. Get her to check her side.", GOOD, ok=True)),
    q("£45 charge for international calls, I only made a few",
      """Bill shows £45.20 for "international calls". I called my sister in Poland maybe 5 times. I thought I had the add-on.""",
      "international-calls billing",
      a("Check the add-on's start date on the bill: if you added it mid-month the earlier calls are at pay-as-you-go rates.", GOOD),
      a("""I've looked at your account: the International add-on was added on the 14th and the calls to Poland before that date were
charged at 12p/min. Because you added it in the same billing month, I've re-rated those calls as if the add-on had been
active from the 1st; £38.60 will come off your next bill.""", GOOD, ok=True, by=STAFF)),
    q("does the international add-on cover calls to mobiles in the US?",
      "or is it only landlines? the app doesn't say",
      "international-calls usa",
      a("Both, the US and Canada count mobiles and landlines the same.", GOOD, ok=True)),
    q("Calling a UK number from abroad - charged as international?",
      "I'm in Spain calling my UK dentist. Is that an international call?",
      "international-calls roaming",
      a("No, that's roaming: under Roam Like Home it comes out of your normal minutes.", GOOD, ok=True)),
    q("Why is a call to Cuba £1.20 a minute?",
      "Genuinely curious. Other countries are pennies.",
      "international-calls",
      a("Termination rates: the Cuban network charges foreign networks a lot to connect calls. Same story for a handful of small island states.", FAIR, ok=True)),
    q("Receive calls from abroad - do I pay?",
      "My brother in Canada calls me. Am I paying anything?",
      "international-calls",
      a("No, when you're in the UK receiving is always free. He pays.", GOOD, ok=True)),
    q("International add-on not applied to calls to Pakistan",
      "Pakistan is on the list in the app but I've been charged 8p/min.",
      "international-calls billing",
      a("Pakistan is only landlines in the add-on; mobiles are charged. The app's list has a little phone icon for where mobiles are included too.", GOOD, ok=True),
      a("I had the same, its a scam", WRONG)),
    q("Can I call 00 numbers or does it have to be +",
      "Old habits. Does 00 still work?",
      "international-calls",
      a("Both work from the UK. + is better because it works from any country when you're roaming too.", GOOD, ok=True)),
    q("Block international calls on my account",
      "My elderly dad got scam calls and nearly rang back an international number. Can I bar outgoing international calls on his line?",
      "international-calls security family",
      a("Yes: Account > his line > Call barring > International. It also blocks premium-rate numbers if you tick that box; I'd do both.", GREAT, ok=True,
        notes=("Done, thank you. Peace of mind.",))),
    q("Missed call from +882 number",
      "Got a missed call from a +882 number. Should I call back?",
      "international-calls spam security",
      a("No. +882 is an international network range and a common 'wangiri' scam: they ring once so you call back at £3+/minute. Block it.", GREAT, ok=True),
      a("Could be important, I'd call back to check", WRONG)),
    q("Calls to Australia drop after exactly 60 seconds",
      "Every call to my daughter in Perth cuts off after a minute. UK calls are fine.",
      "international-calls",
      a("Does it happen on wifi calling? International calls over wifi calling route differently; try with wifi calling off.", FAIR)),
    q("Do international texts come out of my allowance?",
      "Unlimited texts on my plan. Does that include sending to France?",
      "international-calls sms",
      a("No, 'unlimited texts' is UK numbers. Texts to other countries are 20p each (or included in the International add-on).", GOOD, ok=True)),
    q("Calling an 0044 number - got charged international",
      "My cousin gave me his UK number as 0044 7... and I got charged international rates. It's a UK mobile!",
      "international-calls billing",
      a("Dialling with 0044 from the UK should be rated as a UK call. If it wasn't, it's a billing error worth raising.", GOOD),
      a("That call was rated correctly as a UK mobile call; the international charge on the same day was a call to +44 7... from a Spanish number forwarding. I've attached the call record to your message.", FAIR, ok=True, by=STAFF)),
    q("WhatsApp calls to Egypt don't connect",
      "WhatsApp voice calls fail to connect to Cairo, messages are fine.",
      "international-calls apps",
      a("Egypt restricts VoIP calls on some networks there. Nothing on our side blocks WhatsApp. A normal call with the add-on is the reliable option.", FAIR, ok=True)),
    q("what country code is kosovo",
      "trying to add a kosovo number and the phone says invalid",
      "international-calls",
      a("+383. Older phones may not know it yet and flag it invalid; save it anyway, it dials fine.", GOOD, ok=True)),
    q("International add-on: do unused minutes roll over?",
      "Used 40 of 200 this month. Do I keep the rest?",
      "international-calls plans",
      a("No rollover, sorry: 200 a month, reset on your bill date.", GOOD, ok=True)),
    q("Conference call number in Germany - is it included?",
      "Work conference calls use a +49 dial-in. Do I need the add-on?",
      "international-calls business",
      a("Yes, German landlines are in the add-on. Alternatively ask work if there's a UK dial-in, most conference services have one.", GOOD, ok=True)),
]
