"""Contracts: ending, cancelling, cooling off, unlocking handsets, credit checks, early termination."""

from __future__ import annotations

from community.demo_threads import DESK, GOOD, GREAT, STAFF, WRONG, a, q

END = """When your minimum term ends nothing stops: the contract rolls monthly at the same price (or, for phone contracts,
the airtime price only, since the handset is paid off). You'll get an "end of contract" text 10-40 days before, with
the best deals for you. You can then switch plan, upgrade or leave with 30 days' notice, no fees."""

THREADS = [
    q("What happens when my contract ends?",
      "24 month contract ends next month. Do I need to do anything?",
      "contracts",
      a(END, GREAT, ok=True)),
    q("Cancel within 14 days - full refund?",
      "Signed up online 5 days ago, changed my mind. Phone unopened.",
      "contracts cancellation",
      a("Yes, 14-day cooling off for online/phone orders. Return the phone unused and you pay only for what you've used on the SIM. Start it in the app: Account > Orders > Cancel.", GOOD, ok=True)),
    q("How much to leave my contract early?",
      "Got 8 months left on a £20 SIM only. Moving abroad.",
      "contracts cancellation",
      a("Early termination fee = the remaining monthly charges minus a discount (VAT and a few % for what we'd save). The app's 'Leave Kestrel' page calculates it exactly.", GOOD),
      a("For moving abroad permanently, support can waive the fee with proof of the move (a tenancy or work contract abroad). Worth asking.", GREAT, ok=True,
        notes=("Sent my Dutch rental contract and they waived it. Great!",))),
    q("Is my phone unlocked?",
      "Bought on a Kestrel contract in 2021. Want to use a foreign SIM on holiday.",
      "contracts unlock",
      a("Kestrel has sold all phones unlocked since 2020, so yes. Test with a friend's SIM from another network to be sure.", GOOD, ok=True)),
    q("Unlock code for old Kestrel phone",
      "Old Samsung from 2018, locked to Kestrel. Want to give it to my niece who's on another network.",
      "contracts unlock samsung",
      a("Request it in the app: Account > Devices > Unlock. It's free, the code comes by email within 2 working days.", GOOD, ok=True)),
    q("Failed credit check - any options?",
      "Applied for a phone contract, declined. Bit embarrassing. What can I do?",
      "contracts",
      a("SIM only 30-day plans use a much lighter check (often none), and buying a phone outright on a payment card avoids it altogether. Check your credit file for errors too (free with the main agencies).", GOOD, ok=True),
      a("Just apply again a few times, sometimes it goes through", WRONG,
        notes=("Please don't, each application leaves a mark on your file.",))),
    q("Contract says 24 months, but I've paid 26 payments?",
      "Worked it out and I've paid 26 times. Am I overpaying for the phone?",
      "contracts billing",
      a("Since 2020, handset and airtime are split and the handset part stops automatically at month 24. Check the bill: if 'Device plan' still appears, contact support.", GOOD),
      a("""You're right: your first bill covered a part-month plus a month ahead, so you've made 26 *payments* but 24 months of device
plan, which ended last month. Your bill from now on is airtime only (£12). Nothing's been overcharged, but I've
added a £5 credit as the end-of-contract text didn't go out to you.""", GOOD, ok=True, by=STAFF)),
    q("Can I cancel a contract if I move to an area with no signal?",
      "Moving to rural Devon, no Kestrel coverage at the new house.",
      "contracts cancellation coverage",
      a("If there's genuinely no coverage at the new address, support can let you leave without the fee. They check against the coverage map.", GOOD, ok=True)),
    q("Transfer contract to another person",
      "My son is 18 now and wants his line in his own name.",
      "contracts account family",
      a("Transfer of ownership: both of you fill in the form in the app (Account > Line > Transfer). He'll need a credit check for a phone contract.", GOOD, ok=True)),
    q("Cancellation not processed - still being billed",
      """Gave 30 days notice in March, got confirmation email, still being billed in May!

I moved to another network in April and ported my number (so the Kestrel SIM isn't even working any more). The
confirmation email says "Your account will close on 14 April" and gives a reference. Then on 1 May £22 came out by direct
debit, and today I've had another bill for June. I've cancelled the direct debit at my bank now but I'm worried
this will go to a debt collector or affect my credit score. I've got the email saved. How do I get this sorted and the
money back?""",
      "contracts cancellation billing",
      fate=DESK),
    q("Device plan - can I pay it off early?",
      "I'd like to clear what's left on the phone.",
      "contracts",
      a("Yes, Account > Devices > Pay off device. No fee for early payment.", GOOD, ok=True)),
    q("Phone broke - still have to pay the device plan?",
      "Screen dead, phone out of warranty, 10 months left.",
      "contracts insurance",
      a("Yes, the device plan is a loan. A screen repair is usually much cheaper than the remaining payments though.", GOOD, ok=True)),
    q("Cooling off period when bought in store?",
      "Bought in the Kestrel shop on Saturday. Regret it.",
      "contracts cancellation store",
      a("In-store purchases don't get the legal 14 days, but Kestrel gives 14 days to return a phone in 'as new' condition anyway (the returns policy).", GOOD, ok=True),
      a("Store purchases can't be cancelled at all", WRONG)),
    q("Contract renewal price higher than new customers",
      "End of contract offer is £18, website shows same plan at £14 for new customers.",
      "contracts plans",
      a("Ask support to match it; they usually will. Or just take the SIM-only plan from the website, existing customers can choose it too.", GOOD, ok=True)),
    q("When will my 24 month contract end - where can I see?",
      "Can't remember when I signed",
      "contracts account",
      a("App > Account > Line > Contract: shows the start date and minimum term end.", GOOD, ok=True)),
    q("Buying a second-hand phone - how to check it's not on finance",
      "Seller says it's paid off. How can I be sure?",
      "contracts unlock lost-phone",
      a("Run the IMEI through a checker (CheckMEND and similar): it shows finance, blacklist and lock status for a couple of pounds.", GOOD, ok=True)),
]
