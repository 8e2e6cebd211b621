"""Mobile data: not working, slow, APN settings, 5G, usage and allowances."""

from __future__ import annotations

from community.demo_threads import FAIR, GOOD, GREAT, MEH, POOR, WRONG, a, q

APN = """The APN settings for Kestrel (most phones get them automatically, but imported phones sometimes don't):

```
Name:      Kestrel
APN:       kestrel.internet
Username:  (blank)
Password:  (blank)
MMSC:      http://mms.kestrel.example
MMS proxy: 10.20.30.40   MMS port: 8080
APN type:  default,supl,mms
```

Android: Settings > Connections > Mobile networks > Access Point Names > Add. Save, then *select* it."""

RESET = """Before anything else, **reset network settings** (it doesn't touch your photos or apps, just Wi-Fi passwords
and network preferences):

* iPhone: Settings > General > Transfer or Reset iPhone > Reset > Reset Network Settings
* Samsung: Settings > General management > Reset > Reset mobile network settings
* Pixel: Settings > System > Reset options > Reset Wi-Fi, mobile & Bluetooth

It fixes a surprising number of data problems after an update or a SIM change."""

THREADS = [
    q("Mobile data not working but calls and texts fine",
      """Since yesterday no mobile data at all. 4G icon shows, calls work, texts work. Wi-Fi is fine. Samsung A14. Mobile data is ON.

Things I've tried:
* restarted (several times)
* airplane mode on and off
* checked I haven't run out: the app says 14.2GB left of 20
* data saver is off, and no VPN

The only thing that changed is the phone did a software update the night before. My husband has the same phone on the same
plan and his works fine, so it's not the area. Any ideas before I factory reset it? I'd rather not.""",
      "data android",
      a(RESET, GOOD),
      a(APN, GREAT, ok=True, notes=("The APN had vanished after the update! Added it back and data works. Legend.",)),
      a("probably an outage in your area, check the status page", FAIR),
      score=12),
    q("Data really slow in the evenings",
      "Between about 7 and 11pm my 4G crawls (under 1Mbps) in Manchester city centre. Daytime it's 40+.",
      "data speed 4g",
      a("That's classic congestion: lots of people on one mast in the evening. If your phone does 5G, turn it on, the 5G layer is much less busy in the city centre.", GOOD, ok=True),
      a("Have you tried 3G only? less people use it", WRONG, notes=("3G was switched off in 2024",))),
    q("APN settings for Kestrel?",
      "Imported phone from Hong Kong, no data. What's the APN?",
      "data apn",
      a(APN, GREAT, ok=True)),
    q("Is 5G included on every plan?",
      "Or do I pay extra for it? Looking at a new phone.",
      "5g plans",
      a("Included on every plan and PAYG bundle, no extra charge. You need a 5G phone and to be in a 5G area.", GOOD, ok=True)),
    q("5G icon shows but speeds worse than 4G",
      "Getting 5G in Leeds but speed tests show 8Mbps. On 4G I get 30. Why would 5G be slower?",
      "5g data speed",
      a("""Near the edge of 5G coverage your phone holds on to a weak 5G signal (the icon still shows) instead of a strong 4G one.
Try setting 5G to 'Auto' (iPhone: 5G Auto) so it only uses 5G when it's actually better.""", GREAT, ok=True),
      a("5G is all hype anyway", POOR)),
    q("Used 10GB in 2 days and I don't know how",
      "My whole allowance is gone. I've been at home on wifi most of the time!",
      "data usage",
      a("""Check Settings > Mobile data (iPhone) or Data usage (Android) per app. The usual culprits: photo backup set to use
mobile data, video autoplay, or the phone dropping off your home Wi-Fi without you noticing ('Wi-Fi assist' on iPhone
switches to mobile data when Wi-Fi is weak).""", GREAT, ok=True,
        notes=("Wi-Fi assist + my garden office with bad wifi. Turned it off.",))),
    q("Data rollover - does unused data carry over?",
      "I only used 3GB of 30 last month.",
      "data plans",
      a("On plans of 30GB and above, unused data rolls over for one month. Smaller plans don't roll over.", GOOD, ok=True)),
    q("No data after moving SIM to new phone",
      "Moved SIM from old iPhone to a Galaxy S24. Calls fine, data nothing.",
      "data samsung apn",
      a(RESET, FAIR),
      a("New Samsungs pick the APN from the SIM but sometimes select the MMS one by mistake. Check Access Point Names and select 'Kestrel'.", GOOD, ok=True)),
    q("Data stops working every night around 2am",
      "Weird one. Every night around 2 my data drops for ~20 min. Noticed because my smart doorbell loses connection.",
      "data outage",
      a("Planned maintenance is usually done 00:00-05:00. If it's every night at the same mast, support can check for a recurring fault.", FAIR),
      a("Do you have 'adaptive connectivity' or a bedtime mode that limits background data? Mine did exactly this.", GOOD)),
    q("How do I check how much data I've got left?",
      "The app says 'loading' forever.",
      "data usage app",
      a("Text USAGE to 2345 (free) and you'll get a reply with your allowances. Or dial *#1345#.", GOOD, ok=True)),
    q("Data not working in one specific room",
      "Data fine everywhere except my bedroom. Signal shows 2 bars there. Old stone house.",
      "data signal indoor",
      a("Stone walls eat signal. Wi-Fi calling won't help data, but a mesh Wi-Fi point in that room will. If you have no broadband, a window-mounted booster isn't allowed on UK networks, sadly.", GOOD, ok=True)),
    q("Why does my phone say 'E' instead of 4G?",
      "Getting 'E' at the top in rural Wales. Is that edge??",
      "data signal 4g",
      a("Yes, EDGE (2G). It's what's left where there's no 4G. It's fine for texts and calls, painful for data.", GOOD, ok=True)),
    q("Unlimited data plan being throttled?",
      "On the unlimited plan, after ~200GB speeds dropped to nothing for the rest of the month.",
      "data speed plans fair-use",
      a("Unlimited has a fair use policy: above 650GB a month you may be slowed at busy times. 200GB shouldn't trigger it. Check it isn't the hotspot limit (hotspot is capped at 100GB).", GOOD, ok=True),
      a("No such thing as real unlimited", MEH)),
    q("Data works on 4G but not 5G",
      "If I turn 5G on, data just stops. Pixel 7.",
      "5g data pixel",
      a(RESET, FAIR),
      a("Pixel 7 had a known bug with 5G SA on some networks. Update to the latest Android; in the meantime set 'Preferred network type' to LTE.", GOOD, ok=True)),
    q("Data Boost - how does it work?",
      "Ran out of data with a week to go. What are my options?",
      "data bundles",
      a("Data Boosts in the app: 2GB £3, 5GB £5, 10GB £8, valid until your bill date. Or upgrade your plan mid-month, which takes effect at once.", GOOD, ok=True)),
    q("data usage says 2gb but my phone says 6gb",
      "app and phone disagree by 4gb, who's right",
      "data usage",
      a("The phone counts from a reset date you set (or never), the app counts from your bill date. Set the phone's counter to reset on your bill date and they'll match roughly.", GOOD, ok=True)),
    q("Can't load websites but WhatsApp works",
      "Browser says no internet, WhatsApp messages come through. Chrome and Safari both.",
      "data",
      a("Private DNS! Settings > Network > Private DNS: set to 'Automatic'. A VPN or ad blocker can do this too.", GREAT, ok=True,
        notes=("I'd set a private DNS ages ago for an ad blocker and forgot. That was it.",)),
      a("Clear your browser cache", POOR)),
    q("Speed test results - what's normal?",
      "Getting 25 down 5 up on 4G in Bristol. Good or bad?",
      "data speed",
      a("That's a decent 4G result. 5G in Bristol would be 100-300.", FAIR, ok=True)),
    q("Data very slow since the 3G switch off",
      "My phone is an old Samsung J5. Since 3G was switched off, data is painfully slow.",
      "data 4g samsung",
      a("The J5 falls back to 2G where it can't use 4G with VoLTE. Check Settings > Connections > Mobile networks > Network mode is 4G/3G/2G auto. Long term, a newer phone.", FAIR, ok=True)),
    q("Mobile data keeps switching off by itself",
      "Every morning data is off. I turn it on, next morning off again. iPhone 12.",
      "data iphone",
      a("Check Shortcuts > Automation for an automation you (or a battery app) created. Also Focus modes can do it.", GOOD, ok=True)),
    q("Do I get 5G in Cardiff?",
      "Thinking of upgrading to a 5G phone, is it worth it in Cardiff?",
      "5g coverage",
      a("Most of central Cardiff has had 5G since 2022. The coverage checker on our site shows it street by street.", FAIR, ok=True)),
    q("Can I block mobile data for certain apps?",
      "Want YouTube on wifi only.",
      "data usage apps",
      a("iPhone: Settings > Mobile Data > scroll to YouTube, toggle off. Android: Settings > Apps > YouTube > Mobile data > turn off background and foreground.", GOOD, ok=True)),
    q("'No internet connection' on 5G SA",
      "Phone says 5G SA but no internet, drops to 4G and works. Galaxy S23.",
      "5g data samsung",
      a("5G standalone needs a SIM from 2023 onwards. Order a free replacement SIM and it'll work.", GOOD, ok=True)),
    q("internet not working",
      "internet not working on my phone since yesterday",
      "data"),
    q("Data allowance not reset on bill date",
      "My bill date was yesterday but the app still shows 0GB left.",
      "data plans app",
      a("Allowances reset at midnight on the bill date, but the app can take a day to show it. Text USAGE to 2345 for the live figure.", FAIR, ok=True)),
    q("4G signal but data only works when I move to the window",
      "Working from home, data drops in the back of the flat.",
      "data signal indoor",
      a("Turn on Wi-Fi calling for calls and put the laptop on home broadband; indoor mobile data won't get better without moving closer to the window.", MEH)),
]
