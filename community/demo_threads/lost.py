"""Lost and stolen phones: blocking the SIM and the handset, getting the number back, insurance."""

from __future__ import annotations

from community.demo_threads import FAIR, GOOD, GREAT, POOR, STAFF, WRONG, a, q

BLOCK = """Do these in order, today:

1. **Block the SIM**: app or website > Account > SIM > Report lost or stolen (or call 150 from any phone). Nobody can
   run up charges on your line after that.
2. **Order a replacement SIM** on the same screen: same number, plan and balance, delivered in 1-2 days or same day in a store.
3. If stolen, get a crime reference number from the police and ask us to **block the handset by IMEI**, so it won't work
   on any UK network.
4. Use Find My (iPhone) / Find My Device (Android) to lock or erase it."""

THREADS = [
    q("Lost my phone on the train - how do I block my SIM and keep my number?",
      """Left my phone on the 18:05 to Leeds. Rang it, it's off. What do I do first?

Writing this from my laptop. I don't know if it's been nicked or just died, it was on about 15% battery. My banking
apps are on it (they have fingerprint) and all my photos are backed up I think. I really need to keep my number as
it's the one on everything. Do I block it now or wait and see if LNER lost property has it? If I block it and it turns up
can I unblock it? Sorry for all the questions, bit panicked.""",
      "lost-phone sim",
      a(BLOCK, GREAT, ok=True, notes=("Blocked it and ordered a SIM from my laptop. New SIM came next day. Phone turned up at lost property a week later!",)),
      a("Ring LNER lost property too, they're actually good", GOOD),
      score=10),
    q("Phone stolen - will I still be charged my monthly bill?",
      "Phone nicked on a night out. I'm on a 24 month contract with the handset. Do I still pay?",
      "lost-phone contracts billing",
      a("Yes, the handset part of the contract continues (you're paying off a loan for the phone). Insurance, if you have it, covers a replacement. The airtime part continues too, on your replacement SIM.", GOOD, ok=True),
      a("If it's stolen they have to cancel the contract", WRONG, notes=("They don't, sadly.",))),
    q("How do I blacklist my stolen phone's IMEI?",
      "Police gave me a crime number. I want the phone blocked so the thief can't use it.",
      "lost-phone security",
      a("Send the crime reference in a message to support (or ring 150) and they block the IMEI across UK networks within 48h. You can find the IMEI on the box or in your Google/Apple account.", GOOD, ok=True)),
    q("Found my phone after reporting it lost - unblock?",
      "Reported lost yesterday, found it in the car this morning (classic). How do I unblock the SIM?",
      "lost-phone sim",
      a("If you haven't activated a replacement yet, Account > SIM > 'I found it' unblocks it. If you already activated the replacement, the old SIM stays dead; swap back with a new replacement.", GREAT, ok=True,
        notes=("Hadn't activated the new one yet, 'I found it' worked instantly",))),
    q("Someone is using my stolen phone to make calls",
      "My bill shows calls after the theft!! I didn't block it straight away.",
      "lost-phone billing security",
      a("""I've blocked the SIM and the handset and removed the £86.40 of calls made after 23:10 on the 14th, when you say the
phone was taken. A replacement SIM is on its way. Please send the crime reference number when you have it, so we can
keep the IMEI block on record.""", GOOD, ok=True, by=STAFF)),
    q("Do I need insurance from Kestrel or can I use my home insurance?",
      "Kestrel Insure is £9 a month which seems a lot.",
      "lost-phone insurance",
      a("Many home policies cover phones away from home as an add-on for much less, but with a higher excess. Compare excess and whether they replace with new or refurbished.", GOOD, ok=True),
      a("Always get the network insurance, it's the easiest claim", POOR)),
    q("Claim on Kestrel Insure - how long?",
      "Claimed for a stolen iPhone 3 days ago. Nothing since the email.",
      "lost-phone insurance",
      a("Claims usually take 5 working days if the paperwork (crime number) is there. The claims portal shows the status.", FAIR, ok=True)),
    q("Lost phone abroad - how to block",
      "Phone stolen in Barcelona. Using my friend's phone. Help!",
      "lost-phone roaming",
      a(BLOCK, GOOD),
      a("From abroad call +44 7953 150 150 (free from any phone) and they block it straight away. Then do the Spanish police report for insurance.", GREAT, ok=True)),
    q("Can I get my contacts back after losing my phone?",
      "Everything was on the phone. New SIM arriving tomorrow.",
      "lost-phone",
      a("If you had Google or iCloud sync on, signing in on the new phone brings contacts back. Contacts aren't stored on the SIM on modern phones, sadly.", GOOD, ok=True)),
    q("Bought a second-hand phone that turns out to be blacklisted",
      "Bought a phone on Facebook Marketplace, it says 'SIM not supported' and a shop told me the IMEI is blocked.",
      "lost-phone unlock",
      a("If it's blacklisted as lost or stolen, no UK network can unblock it for you: only the owner who reported it can. Report the seller to the police and to Facebook.", GOOD, ok=True),
      a("There are websites that can unblacklist it for £20", WRONG, notes=("Those are scams and also illegal.",))),
    q("Child lost phone at school - temporary phone with same number?",
      "Son's phone lost at school, hopefully turns up. Can he use his old phone meanwhile?",
      "lost-phone family sim",
      a("Order a replacement SIM (free) and put it in the old phone. If the lost phone turns up, he can just move the new SIM into it.", GOOD, ok=True)),
    q("Lock my lost Android phone remotely",
      "Don't think it's stolen, just lost in the house somewhere but it's on silent.",
      "lost-phone android",
      a("Find My Device (google.com/android/find) can ring it at full volume even on silent. Saved my sanity many times.", GREAT, ok=True,
        notes=("Down the side of the sofa. Thank you!!",))),
    q("Stolen phone - does the thief get my eSIM?",
      "Phone had an eSIM. Can they put it in another phone?",
      "lost-phone esim security",
      a("No, an eSIM can't be moved out of the phone without your account. Still block the line so they can't use it in your phone.", GOOD, ok=True)),
]
