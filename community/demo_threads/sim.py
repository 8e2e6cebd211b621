"""Physical SIM cards: activation, swaps, damaged and blocked SIMs, PIN and PUK codes."""

from __future__ import annotations

from community.demo_threads import FAIR, GOOD, GREAT, MEH, POOR, STAFF, WRONG, a, q

ACTIVATE = """New SIMs go live in two steps: the SIM has to be **activated** (the Kestrel app, or kestrel.example/activate, with the
number printed on the card) and then the network needs up to 2 hours to provision it. After that:

1. Restart the phone with the SIM in.
2. Check Settings > Mobile network > Network operators is on *Automatic*.
3. Still "No service"? Try the SIM in another phone: if it works there it's your handset, if not it's the SIM.

Nine times out of ten it's step 1 that got missed."""

PUK = """Your PUK is in the Kestrel app under **Account > SIM > Show PUK** (or on the website, same place). It's
also printed on the plastic card the SIM came in if you still have it.

Enter it *carefully*: after 10 wrong PUK attempts the SIM is blocked for good and you need a replacement.
Once it's accepted the phone asks you to choose a new PIN."""

SWAP = """A SIM swap (same number, new card) is free. Order it in the app under Account > SIM > Replace SIM, or in
any store with ID. When it arrives, activate it from the same screen: the old SIM stops working at that
moment and the new one picks up within about 30 minutes. Your number, plan and balance all stay."""

THREADS = [
    q("PUK code needed after my son put the wrong PIN in 3 times",
      "My phone now says SIM locked, enter PUK. I have no idea what the PUK is. Help please, I need my phone for work.",
      "puk sim",
      a(PUK, GREAT, ok=True, notes=("Found it in the app, thank you so much.",)),
      a("Ring 150 from another Kestrel phone and they'll read it out to you after security questions.", GOOD)),
    q("New SIM says 'No service' after activating it yesterday",
      """Got my Kestrel SIM in the post, activated it on the website yesterday afternoon and it still says No Service this morning.
Phone is a Galaxy A34, unlocked (bought it outright from Currys). Anyone know how long it should take??""",
      "sim activation",
      a(ACTIVATE, GREAT, ok=True, notes=("Turns out network selection was set to manual from my old provider. Switched to automatic and it connected straight away, thanks!",)),
      a("Same thing happened to me, took about a day to start working. Just give it time.", MEH),
      notes=("Did you get a confirmation email after activating?",)),
    q("how long does a sim swap take",
      "ordered a replacement sim because my old one is cracked. how long after i put it in does it work",
      "sim sim-swap",
      a(SWAP, GOOD, ok=True),
      a("Took about 10 minutes for me, the old one went dead first and then the new one lit up.", FAIR)),
    q("SIM card damaged - phone keeps saying 'Insert SIM'",
      """My phone randomly says **Insert SIM** several times a day, then finds it again after a minute. Started after I dropped it.
I've cleaned the contacts with a cloth. Is it the SIM or the phone?""",
      "sim",
      a("""Easiest test: put your SIM in someone else's phone for a day, and their SIM in yours. Whichever misbehaves is the culprit.
If it's the SIM, a replacement is free from the app (Account > SIM > Replace SIM). If the SIM tray got bent in the drop,
a new SIM won't fix it and you're looking at a repair.""", GREAT, ok=True,
        notes=("Swapped with my partner's and the fault followed my SIM. New one ordered.",)),
      a("Try a factory reset, it fixes most things like this.", WRONG)),
    q("Do I need a new SIM for 5G?",
      "I've had the same SIM since 2016. Upgrading to a 5G phone next week, do I need to order a new SIM or will the old one do 5G?",
      "sim 5g",
      a("""Older SIMs (before about 2019) can't do 5G standalone and some don't support VoLTE either. If your SIM is that old,
order a free replacement before the new phone arrives. You can check in the app: Account > SIM shows "5G ready: yes/no".""", GOOD, ok=True),
      a("SIMs are just ID cards, any SIM works with any network technology.", WRONG,
        notes=("That's not quite right, older SIM profiles don't carry the 5G settings.",))),
    q("Which size SIM do I need for a Pixel 7a?",
      "Sorry if this is a dumb question. Ordering a SIM online and it asks nano/micro/standard. Its a Pixel 7a.",
      "sim pixel",
      a("Nano. All of our SIMs come as a 'triple cut' card anyway, so you can pop out whichever size you need.", GOOD, ok=True),
      a("nano sim, the tiniest one", FAIR)),
    q("Activated the wrong SIM card by mistake",
      """Ordered two SIMs, one for me and one for my daughter. I activated the one meant for her on my account and now MY phone has no service.
Can this be undone without ordering more SIMs?""",
      "sim activation account",
      a("""Yes, it's just a SIM swap in reverse. In the app go to Account > SIM > Replace SIM and enter the serial number (ICCID)
of the card that's in your phone. Then activate your daughter's SIM on her own line. No charge for either.""", GOOD, ok=True),
      notes=("Are both lines on the same account, or is hers a separate account?",)),
    q("Where do I find my PUK if I can't log into the app?",
      """Phone is PUK locked so I can't get the 2-factor text to log into the app. Catch 22!! How am I supposed to get the code?""",
      "puk account login",
      a("""Log in on the website from a laptop and choose "I can't receive my code" at the two-step screen: it lets you
verify with your date of birth and the last payment amount instead. Then Account > SIM > Show PUK.""", GREAT, ok=True),
      a("Call customer services from a friend's phone, it's a free call on 0333 number.", FAIR),
      a("Just take the SIM out and put it back in, the PIN counter resets.", WRONG,
        notes=("No it doesn't, the counter is stored on the SIM. Please don't tell people this.",))),
    q("Entered the PUK wrong - how many tries do I have left?",
      "I typed the PUK from the card but it said wrong, twice. Now I'm scared to try again. How many attempts before it's permanently blocked?",
      "puk",
      a("""10 attempts in total. Most phones show how many are left on the PUK screen. Double-check you're reading the **PUK**
and not the PIN or the SIM serial: the card shows all three and they're easy to mix up. The app always has the right one.""", GOOD, ok=True)),
    q("SIM permanently blocked after too many PUK attempts",
      "Well I did it, 10 wrong PUKs. Phone says SIM permanently blocked. Is my number gone?",
      "puk sim sim-swap",
      a("Your number is fine, it's just that physical card that's dead. Order a replacement SIM (free) and activate it, same number, same plan.", GREAT, ok=True),
      a(SWAP, FAIR)),
    q("How do I turn off the SIM PIN on Android?",
      "Every time I restart my phone it asks for a SIM PIN. I never set one. Can I switch it off?",
      "sim android",
      a("""Settings > Security & privacy > More security settings > SIM lock (the exact path differs by brand, search
"SIM lock" in settings). Turn off "Lock SIM card" and enter the current PIN, which is **0000** on our SIMs unless you changed it.""", GOOD, ok=True),
      a("You cant, its a network thing", WRONG)),
    q("Default SIM PIN for Kestrel?",
      "what is the default pin for a kestrel sim, tried 1234",
      "sim",
      a("its 0000 on all of them I think", FAIR, ok=True),
      a("It's 0000. If 0000 doesn't work, someone changed it: don't guess more than twice or you'll need the PUK.", GOOD)),
    q("Replacement SIM never arrived, ordered 9 days ago",
      """Ordered a replacement SIM on the 3rd, the app said 1-2 working days. Nothing has come. The old one is broken so I have no phone.
I've checked with neighbours. What now?""",
      "sim sim-swap delivery",
      a("""I've looked at your order: it was sent to your previous address, which was still on the account as the delivery address.
I've updated it, cancelled the first SIM so nobody else can use it, and sent a new one by tracked next-day delivery
at no cost. You should have it tomorrow before 1pm.""", GOOD, ok=True, by=STAFF),
      a("Quickest fix is to pop into a store with photo ID, they can do a swap on the spot.", GOOD)),
    q("Can I get a SIM the same day in a store?",
      "Moving from another network and I'd like to walk out of a shop with a working SIM today. Possible?",
      "sim store",
      a("Yes, every Kestrel store has SIMs and can activate it there and then. Bring ID if you want to port your number in the same visit.", GOOD, ok=True)),
    q("Old phone works, new phone says SIM not supported",
      """Moved my SIM from an old iPhone 8 into a second-hand Galaxy S21 I bought on eBay. The Samsung says "SIM card not supported".
Put it back in the iPhone and it's fine.""",
      "sim unlock samsung",
      a("""That message almost always means the Samsung is **locked to another network**. Ask the seller which network it came
from and request an unlock code from them (free since 2021 for UK networks). Alternatively check the IMEI on an unlock checker.""", GREAT, ok=True,
        notes=("Yep it was locked to another network. Seller got it unlocked, working now.",)),
      a("Your SIM might be too old for the Samsung, get a new SIM.", POOR)),
    q("Does the SIM tray orientation matter?",
      "Might be a silly question but I put my SIM in and the phone doesn't see it. Can it go in the wrong way round?",
      "sim",
      a("It only fits one way in the tray: the cut corner lines up with the cut corner in the tray. Gold contacts face down on most phones. If it's not seated flat the phone won't read it.", GOOD, ok=True)),
    q("Getting 'SIM not provisioned MM#2' error",
      "What does SIM not provisioned MM#2 mean? Happened after I changed my plan yesterday.",
      "sim activation plans",
      a("""MM#2 means the network doesn't recognise the SIM on the line, usually because a change to the account is still
going through. Give it an hour and restart. If it's still there after that, the plan change may have detached the SIM and
support need to re-link it.""", GOOD),
      a("I've re-linked your SIM to your line; the plan change had gone through before the SIM update finished. Restart your phone and you'll be back on the network.", GOOD, ok=True, by=STAFF)),
    q("Data SIM for a tablet, can I use my existing number?",
      "I want a SIM for my iPad. Can it share my phone's allowance or does it need its own plan?",
      "sim data plans tablet",
      a("""There's a "Data Share" add-on on the 30GB plans and above: a second SIM that draws from your allowance, £5/month.
Otherwise a standalone data-only SIM starts at £6. The tablet SIM gets its own number either way (you won't see it, it's data only).""", GOOD, ok=True)),
    q("My SIM keeps asking for PIN even though I disabled it",
      "Disabled the PIN lock in settings but after every restart it asks again. Pixel 8, Android 14.",
      "sim pixel android",
      a("Check you're disabling it for the right slot: the Pixel has a physical SIM and eSIM. SIM lock is per SIM. Settings > Security > More security > SIM card lock, then pick the SIM.", GOOD, ok=True),
      a("Might be a bug in android 14, mine did the same til an update", MEH)),
    q("Is there a charge for a new SIM card?",
      "Lost mine down the back of a radiator (don't ask). Do Kestrel charge for replacements?",
      "sim sim-swap",
      a("Free, including postage. If you want it faster a store can do it on the spot, also free.", GOOD, ok=True),
      a("I got charged £10 for mine last year.", WRONG, notes=("That would have been the express delivery, the SIM itself is free.",))),
    q("Second-hand phone won't read my SIM at all",
      """Bought a refurbished Moto G, no SIM detected at all. Not "locked", not "invalid", just nothing. Tried two SIMs.
Refurbisher says it's fine.""",
      "sim android",
      a("Two different SIMs both not detected points at the phone (SIM reader or tray). Refurbs within 30 days can go back; I'd return it.", GOOD, ok=True)),
    q("Activation says 'SIM already in use'",
      "Trying to activate a SIM I got free at a festival stand and the site says this SIM is already in use. What?",
      "sim activation",
      a("Giveaway SIMs are sometimes activated by the stand staff for testing. Ring 150 with the SIM serial and they can release it, or just order a free SIM from the website.", FAIR, ok=True),
      a("Sounds like someone already registered it, its probably not yours to use", MEH)),
    q("Can't get the SIM tray open on my iPhone",
      "I've lost the little pin thing. Anything I can use?",
      "sim iphone",
      a("A straightened paperclip or an earring stud works. Push firmly straight in, not at an angle.", GOOD, ok=True)),
    q("Dual SIM: which SIM does the phone use for data?",
      "I've got my Kestrel SIM plus a work SIM in the same phone. Data seems to come from the work one and my boss asked why I used 8GB. Oops. How do I pick?",
      "sim data android",
      a("""Settings > Network & internet > SIMs > Mobile data, choose the Kestrel SIM. Also turn **off** "Switch mobile data automatically"
(Android) or "Allow mobile data switching" (iPhone) or it'll flip back when signal is better on the other one.""", GREAT, ok=True,
        notes=("Ah that automatic switching thing was it. Cheers.",))),
]
