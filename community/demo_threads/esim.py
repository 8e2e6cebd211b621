"""eSIM: getting one, moving it between phones, QR codes, dual SIM with an eSIM."""

from __future__ import annotations

from community.demo_threads import FAIR, GOOD, GREAT, MEH, NEW, POOR, STAFF, WRONG, a, q

NEW_QR = """Each eSIM QR code works **once**. If the profile was deleted, or the install failed half way, the code is used up
and you need a new one: Kestrel app > Account > SIM > "Get a new eSIM". It's free and appears in the app within a couple
of minutes. Make sure you're on Wi-Fi when you scan it."""

TRANSFER = """On iPhone to iPhone you can use **Settings > Mobile Service > Add eSIM > Transfer from nearby iPhone**; keep both
phones unlocked and next to each other. It takes 5-10 minutes. If it stalls, cancel and use a new QR code from the app
instead: the old phone's eSIM stops as soon as the new one activates."""

THREADS = [
    q("eSIM stuck on 'Activating...' on my new iPhone 15",
      """Transferred my eSIM from my iPhone 12 to a new 15 last night. It's been saying "Activating..." for about 10 hours.
Old phone now shows No Service. So I currently have no phone at all. Restarted both several times.

What I did, in case it matters:
- set up the new iPhone from the old one (Quick Start), it offered to transfer the eSIM, I said yes
- it said "Transferring mobile plan" for ages, then "Activating..."
- this morning the old phone says No Service and the new one still says Activating

I'm on wifi at home so I can get messages on WhatsApp but nobody can call me and I can't get my bank's codes.
I've read online that I might have to go into a store?? The nearest one is 40 minutes away. Anyone had this and fixed it from home?""",
      "esim iphone activation",
      a(NEW_QR, GREAT, ok=True, notes=("Got a new code from the app, scanned it on wifi and it activated in 2 minutes. Why doesn't the transfer just work!",)),
      a("Go to a store, they'll sort it in 5 min", FAIR),
      a("Put your old SIM card back in", WRONG, notes=("There's no SIM card to put back, it's an eSIM.",)),
      score=14),
    q("Can I switch from a physical SIM to eSIM without visiting a store?",
      "I'd like to move to eSIM so I can use the SIM slot for travel SIMs. Is it doable from home?",
      "esim sim",
      a("""Yes: Kestrel app > Account > SIM > Switch to eSIM. You get a QR code (or on iPhone a one-tap install). Your physical SIM
stops working when the eSIM activates, so don't do it while you're relying on the phone for something.""", GOOD, ok=True),
      a("Did mine through the app in about 5 minutes, painless.", MEH)),
    q("eSIM QR code says 'This code is no longer valid'",
      "Scanned the QR code from my email and got 'This code is no longer valid'. I only got the email an hour ago.",
      "esim activation",
      a(NEW_QR, GOOD, ok=True),
      a("Were you on mobile data when you scanned it? Needs wifi. Might have half-installed first time.", FAIR)),
    q("Moving eSIM from Samsung to iPhone",
      "Going from a Galaxy S23 to an iPhone 15 Pro. Is there a transfer option or do I need a new QR?",
      "esim iphone samsung",
      a("Transfer between Android and iPhone isn't supported, so request a new eSIM in the app and scan it on the iPhone. Do it when you have wifi and ten minutes.", GOOD, ok=True),
      a(TRANSFER, POOR, notes=("That's iPhone to iPhone only, they're coming from Samsung.",))),
    q("Does the Galaxy A54 support eSIM?",
      "Thinking of getting an A54 for my mum, need it to take an eSIM. Some sites say yes some say no.",
      "esim samsung",
      a("UK models of the A54 do (SM-A546B). Some imported versions don't. Check Settings > Connections > SIM manager: if there's 'Add eSIM' you're fine.", GOOD, ok=True)),
    q("Deleted my eSIM by accident",
      "I was trying to clear space / reset network settings and chose 'erase eSIM'. Is my number gone forever?? PANIC",
      "esim",
      a("""Breathe :) your number lives on our side, not in the profile on your phone. Get a new eSIM in the app (Account > SIM >
Get a new eSIM). If you can't get into the app without your phone, log in on the website from a computer.""", GREAT, ok=True,
        notes=("Thank you, back up and running and I've learned my lesson",))),
    q("eSIM for a smartwatch",
      "Does Kestrel support eSIM on Apple Watch / Galaxy Watch so I can leave the phone at home on runs?",
      "esim smartwatch",
      a("Yes, it's the 'Watch Connect' add-on, £5 a month, shares your number. Set it up from the Watch app on your phone (Mobile Data > Set up), it asks you to log into Kestrel.", GOOD, ok=True),
      a("not supported last time I checked", POOR)),
    q("How many eSIMs can I have on one phone?",
      "I travel for work and collect eSIMs like stamps. Is there a limit?",
      "esim travel",
      a("The phone decides, not us. iPhones store 8 or more profiles, with two active at once. Most Androids store 5+ with one or two active.", FAIR, ok=True)),
    q("iPhone keeps saying 'eSIM cannot be added'",
      "Trying to add my eSIM on an iPhone 13 bought from Back Market. Every time: 'eSIM cannot be added. This code is no longer valid. Contact your carrier.'",
      "esim iphone unlock",
      a("""On a second-hand iPhone this usually means it's **carrier locked**, not the code. Settings > General > About > Carrier Lock
should say "No SIM restrictions". If it names another network, the seller needs to get it unlocked.""", GREAT, ok=True,
        notes=("It said SIM locked. Sent it back for a refund.",)),
      a(NEW_QR, FAIR)),
    q("Can I have both a physical SIM and an eSIM from Kestrel on the same account?",
      "Looking for a second number for my side business, on the same phone.",
      "esim sim account",
      a("Yes, add a second line to your account and choose eSIM for it. They're billed separately and each has its own plan.", GOOD, ok=True)),
    q("eSIM transfer from nearby iPhone stuck at 'Transferring'",
      "Both phones next to each other, both on iOS 17, stuck at transferring for 40 minutes.",
      "esim iphone",
      a(TRANSFER, GOOD, ok=True),
      a("Have you turned bluetooth on on both? It uses bluetooth for the handshake.", FAIR)),
    q("Wiped my phone and lost eSIM, now can't log in to get a new one",
      """Factory reset my phone to sell it, forgot the eSIM was on it. Now I need the code that gets texted to my number to log
in to my account... which is on the eSIM I just wiped. Brilliant.""",
      "esim account login",
      a("""I've verified your account from the details you gave in your private message and sent a new eSIM QR code to your
email address. Scan it on Wi-Fi; the old profile is already cancelled. I've also added your email as a second way to
receive log-in codes, so this can't lock you out again.""", GOOD, ok=True, by=STAFF)),
    q("Pixel 8 eSIM setup 'network not available'",
      "Scanned QR, it downloaded, and now it just says network not available. Pixel 8, Android 14.",
      "esim pixel",
      a("After the download, go to Settings > Network & internet > SIMs, tap the Kestrel eSIM and make sure 'Use SIM' is on. The Pixel sometimes installs the profile switched off.", GREAT, ok=True),
      a("I'd restart and wait a couple of hours", MEH)),
    q("Is eSIM more secure than a physical SIM?",
      "My bank said to use eSIM to protect against SIM swap fraud. Is that true?",
      "esim security",
      a("""Partly. A thief can't pop an eSIM out of a stolen phone, which helps. But SIM swap fraud happens by tricking the
network into moving your number, and that works for either kind. Set a **port and swap PIN** in the app (Account > Security)
so nobody can swap or port your number without it.""", GREAT, ok=True)),
    q("Travel eSIM from another company + Kestrel eSIM on the same phone",
      "Going to Japan. Planning to buy a local data eSIM and keep Kestrel for calls and texts. Will that work?",
      "esim travel roaming",
      a("Works fine on any dual-SIM phone. Set the travel eSIM as the data line and leave Kestrel on for calls/texts. Turn off data roaming on the Kestrel line so it can't sneak any data.", GOOD, ok=True),
      a("Yes but turn off 'allow mobile data switching' too", FAIR)),
    q("eSIM profile shows 'No Service' but physical SIM from the same account worked fine",
      "Switched to eSIM yesterday. The old SIM worked perfectly. The eSIM installed OK but no service. Galaxy S22.",
      "esim samsung",
      a("I can see the switch didn't finish on our side: your line was still pointed at the old SIM. I've completed it now. Restart the phone and you'll have service within a few minutes.", GOOD, ok=True, by=STAFF)),
    q("Switching eSIM between two phones regularly",
      "I have a work phone and a personal phone and want to move my number between them depending on the day. Do I need a new QR each time?",
      "esim",
      a("Yes, every move needs a fresh profile and there's a limit of 5 a month in the app. Honestly a physical SIM is better for what you want.", GOOD, ok=True)),
    q("esim not working after ios update",
      "updated to ios 17.4 and my esim says no sim. anyone else??",
      "esim iphone",
      a("Restart first (the update sometimes leaves the modem in a weird state). If still no SIM, Settings > General > Transfer or Reset > Reset > Reset Network Settings. Don't choose 'Erase all'.", GOOD, ok=True,
        notes=("Reset network settings did it. thanks",)),
      a("Same problem here, waiting for 17.4.1", MEH)),
    q("Ordered eSIM but never got the QR email",
      "It's been 4 hours and nothing in inbox or spam.",
      "esim activation",
      a("The code is also in the app under Account > SIM once it's ready; the email is just a copy. If the app says 'processing' after 4 hours, ring 150.", FAIR, ok=True)),
    q("Does eSIM drain the battery more?",
      "My battery seems worse since switching to eSIM. Coincidence?",
      "esim battery",
      a("No difference in power between eSIM and a physical SIM; it's the same radio. More likely your signal is weaker where you are lately, that drains battery fast.", GOOD),
      a("Yes eSIM uses more battery", WRONG)),
    q("Can I print the eSIM QR code and scan it later?",
      "Setting up my dad's new phone at his house tomorrow. Can I print the QR and take it with me?",
      "esim",
      a("Yes, a printed code works fine. Just don't scan it with anything else first (even a QR reader app can mark it as used on some phones).", GOOD, ok=True)),
    q("Kids' phone: eSIM or SIM?",
      "Getting my 11 year old a first phone. Physical SIM or eSIM? Thinking about when they inevitably lose it.",
      "esim sim family",
      a("eSIM can't be lost separately from the phone, and can't be stolen out of it. But moving it to a new phone takes a new QR, while a SIM just moves. For a kid I'd go eSIM + the parental controls in the app.", FAIR)),
    q("Lost phone with eSIM - how do I get my number onto my old phone?",
      "Phone stolen last night. My old phone is in a drawer. How do I get the eSIM onto it?",
      "esim lost-phone",
      a("First block the stolen line (app > Report lost or stolen). Then 'Get a new eSIM' and scan it on the old phone, assuming it supports eSIM. If not, order a physical SIM swap.", GREAT, ok=True)),
    q("eSIM activation code format?",
      "My phone won't scan the QR. What is the manual code and where do I type it?",
      "esim activation",
      fate=NEW),
]
