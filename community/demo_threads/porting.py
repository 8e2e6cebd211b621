"""Bringing a number to Kestrel, taking one away: PAC and STAC codes, temporary numbers, failed ports."""

from __future__ import annotations

from community.demo_threads import FAIR, GOOD, GREAT, MEH, POOR, STAFF, WRONG, a, q

PAC = """1. Text **PAC** to 65075 from the phone with the number you want to keep. Your old network replies within a
   minute with a code like `ABC123456`. It's valid for 30 days.
2. Enter it when you activate your Kestrel SIM (or later in the app under Account > Keep my number).
3. Your number moves the next working day, usually between 9am and 1pm. Keep both SIMs until then.

Your old contract ends automatically when the port completes; you don't need to cancel it separately."""

TEMP = """That's normal: you get a temporary number while the port is going through. On the switch day the temporary
number disappears and your old number takes over on the Kestrel SIM. Calls may drop in and out for an hour or so that
morning. Texts sent to you during the switch can arrive late."""

THREADS = [
    q("How do I keep my number when moving to Kestrel?",
      "Currently with another network, contract ends next month. I want my number to come with me, what's the process?",
      "porting pac-code",
      a(PAC, GREAT, ok=True),
      a("Get your PAC and give it to Kestrel, job done.", FAIR),
      score=9),
    q("Port still not done after 3 working days",
      """Put my PAC in on Monday. It's now Thursday afternoon and I'm still on the temporary number. Old SIM still works too.
Nobody can ring me on my normal number, which is a problem because I'm self employed and that number is on my van,
my website, my invoices, everything.

The app just says "Your number is on its way" with no date. The email on Monday said the switch would happen on
Tuesday. I've rung my old network and they say they haven't had a request from Kestrel at all. I rang 150 and waited
45 minutes and then got cut off. Not impressed so far to be honest. Can someone who actually works there look at this?""",
      "porting",
      a("""I've checked this for you: your PAC was entered against the temporary number's line but the date of birth didn't match
what your old network holds, so they rejected the request. I've resubmitted it with your details corrected and it's
booked for tomorrow morning. I'm sorry for the hassle.""", GOOD, ok=True, by=STAFF),
      a("Mine took a week, got there in the end.", MEH)),
    q("Which temporary number is mine?",
      "I ported in but the app shows a number starting 07700 that isn't mine. Did the port fail?",
      "porting",
      a(TEMP, GOOD, ok=True)),
    q("What's a STAC code and do I need one?",
      "Someone at work said I need a STAC not a PAC? I don't want to keep my number, just leave.",
      "porting contracts cancellation",
      a("""Right, a **STAC** (text STAC to 75075) is for leaving *without* keeping your number. Give it to the new network and they
cancel your old contract for you. PAC if you want to keep the number, STAC if not.""", GREAT, ok=True),
      a("STAC is a scottish thing I think", WRONG)),
    q("PAC code expired before I used it",
      "Got my PAC 6 weeks ago, forgot about it, now it says expired. Do I need a new one?",
      "porting pac-code",
      a("Yes, PACs are valid for 30 days. Just text PAC to 65075 again, it's free and instant.", GOOD, ok=True)),
    q("Can I port a pay as you go number?",
      "It's a PAYG number with £4 on it. Does the credit come too?",
      "porting pay-as-you-go top-up",
      a("You can port it, but the credit stays behind with the old network. Spend it first, or ask them for a refund of it (some do, most don't).", GOOD, ok=True)),
    q("Texts still going to my old phone after porting",
      "Calls come to my Kestrel SIM now but some texts still arrive on the old SIM. Port completed yesterday.",
      "porting sms",
      a("For up to 24h after the port, some networks still route texts from their own customers to the old SIM. It clears up on its own. If it's still happening on day 3, support can chase it.", GOOD, ok=True),
      a("Switch the old phone off, then they have to go to the new one", POOR)),
    q("Ported my number and lost all my voicemail messages",
      "Didn't think about it but I had some voicemails from my late dad on my old network. Is there any way to get them back?",
      "porting voicemail",
      a("I'm very sorry. Voicemails are stored by the old network and deleted when the number leaves, so we can't recover them. It's worth asking your old network quickly: some keep them a few days.", GOOD),
      a("If you had visual voicemail on iPhone, check Phone > Voicemail: they may still be saved on the phone itself even though the network deleted them.", GREAT, ok=True,
        notes=("They were still on the phone. I've saved them to my laptop now. Thank you, honestly.",))),
    q("Moving my number from Kestrel to a different network",
      "Sorry Kestrel, found a cheaper deal. Just want the PAC. Will I be charged to leave?",
      "porting contracts cancellation",
      a("Text PAC to 65075 and you'll get it in a text. If you're still in the minimum term of a contract there's an early termination fee; the reply text tells you the amount.", GOOD, ok=True)),
    q("PAC request text says 'Unable to process your request'",
      "Texted PAC to 65075 three times, each time 'unable to process'. Any ideas?",
      "porting pac-code",
      a("That reply usually means the account holder is someone else (e.g. a business or family account) and only they can request the PAC. Otherwise ring 150 and ask for it by phone.", GOOD, ok=True),
      a("Try texting it in capitals", MEH)),
    q("Can I choose the day my number moves?",
      "I'm abroad next Tuesday and Wednesday and don't want the switch to happen while I'm away.",
      "porting",
      a("Yes, when you enter the PAC in the app you can pick a date up to 30 days ahead (as long as the PAC is still valid then).", GOOD, ok=True)),
    q("Port failed - 'number not recognised'",
      """Entered my PAC and got an email saying the port failed because the number was not recognised. The number is definitely right, I've had it 15 years""",
      "porting",
      a("Double check the PAC hasn't been mistyped (O vs 0 is the usual one) and resubmit from the app. If it fails again the old network may have the number registered under a different account holder.", FAIR),
      a("""The PAC was valid but attached to your old network's second line on your account, not this number. I've asked them to reissue
it for the right number, and I'll submit it as soon as it comes in. You'll get a text when the switch date is booked.""", GOOD, ok=True, by=STAFF)),
    q("Keeping a landline number on a mobile?",
      "Can I port my home landline 01 number onto a Kestrel mobile plan?",
      "porting",
      a("No, geographic landline numbers (01/02) can only move to landline or VoIP providers. Mobile networks can only take 07 numbers.", GOOD, ok=True)),
    q("Business number porting from a company account",
      "Leaving my employer and they're letting me keep my work number. How do I get it onto a personal Kestrel account?",
      "porting business account",
      a("Your employer (as the account holder) needs to request the PAC and give it to you, or sign a 'transfer of ownership' letter. Then enter the PAC as normal.", GOOD, ok=True)),
    q("both SIMs dead on porting day",
      "today was porting day. old sim went dead at 10am. new sim still shows the temp number and no calls coming in at all. its 4pm!!",
      "porting",
      a(TEMP, FAIR),
      a("Restart the Kestrel phone, sometimes it needs a restart to pick up the ported number. If still nothing by 6pm, ring 150 from another phone.", GOOD, ok=True,
        notes=("Restart fixed it. Must have been sitting on the old registration.",))),
    q("Does porting reset my WhatsApp?",
      "If my number stays the same, will WhatsApp, banking apps etc all keep working?",
      "porting apps",
      a("Yes, WhatsApp and banks only care about the number. You may be asked to re-verify by text once, which you can do as soon as the port completes.", GOOD, ok=True)),
    q("Ported in but my number shows as 'Kestrel temporary' in the app",
      "Port happened yesterday (calls work on my real number) but the app still shows the temp number. Does that matter?",
      "porting app",
      a("The app can lag a day behind. Log out and back in. If it still shows the temp number after 48h it's cosmetic but worth reporting.", FAIR, ok=True)),
    q("PAC code from my old network isn't accepted by the website",
      "Website says 'invalid PAC'. Code is 9 characters, 3 letters and 6 numbers. I've typed it very carefully.",
      "porting pac-code",
      a("Are you entering it on the temporary Kestrel number's account? The website needs you to be logged in as the account the SIM belongs to. Also check it hasn't already been used.", FAIR)),
    q("Can I port two numbers onto one family account?",
      "Me and my wife both want to bring our numbers over. One account or two?",
      "porting family account",
      a("One account is fine: add two lines, enter each PAC on its own line. Each number ports on its own schedule.", GOOD, ok=True)),
    q("Bank verification texts not arriving since porting",
      "Since my number moved last week, Santander's codes don't arrive. Everything else does.",
      "porting sms banking",
      a("Banks sometimes flag a recent port as possible SIM swap fraud and pause texts for a few days. Ring the bank and ask them to confirm the number; that clears it.", GREAT, ok=True)),
    q("How long does a PAC take to arrive?",
      "Texted PAC to 65075 twenty minutes ago. Nothing.",
      "porting pac-code",
      a("Should be within a minute. Some networks by law have up to 60 seconds... anything past an hour means the text went missing. Try again, or call them.", FAIR, ok=True),
      a("Took 2 days for me, that's normal", WRONG)),
]
