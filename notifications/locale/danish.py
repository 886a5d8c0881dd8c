"""The service's words in Danish: every reason, problem and refusal code as a sentence (``str.format`` with the
code's parameters, already formatted by ``notifications.locale``)."""

from __future__ import annotations

REASONS = {
    "complete": "komplet",
    "to_clarify": "{count} forhold skal afklares",
    "duplicate": "samme e-mail som besked #{original}, modtaget {received}",
    "oversized": "e-mailen var {size}, over grænsen på {limit}; ikke hentet",
    "not_answered": "intet automatisk svar",
    "quarantined": "i karantæne: {limit} ({detail})",
    "form_unreadable": "skemaet kunne ikke åbnes ({files})",
    "follow_up": "svar på {reference} uden skema (fundet via {found_by})",
    "no_form": "intet ansøgningsskema blandt de vedhæftede filer",
    "no_attachments": "ingen vedhæftede filer",
    "round_closed": "ansøgningsrunden er lukket",
    "legacy": "{text}",
}
NO_REPLY = "intet automatisk svar: {why}"
BOUNCED = "vores svar {bounced_reply} til {bounced_to} kom retur og er markeret som fejlet"
NO_REPLY_WHY = {
    "auto_submitted": "Auto-Submitted: {detail}",
    "precedence": "Precedence: {detail}",
    "list_header": "postlistehovedet {detail}",
    "suppressed": "X-Auto-Response-Suppress",
    "null_return_path": "tom returadresse (en returmeddelelse)",
    "report": "en leverings- eller læsekvittering",
    "no_sender": "ingen afsenderadresse",
    "robot_sender": "automatisk afsender {detail}",
    "ourselves": "sendt af os selv",
    "our_message": "en af vores egne e-mails kom retur",
    "raw_unavailable": "den gemte e-mail kunne ikke læses",
    "authentication_failed": "afsenderen er sandsynligvis forfalsket (modtageserverens vurdering: {detail})",
}
FOUND_BY = {"reference": "referencenummeret i emnet", "message_id": "svar-id'et (In-Reply-To/References)",
            "sender": "afsenderens adresse"}
UNREADABLE = {"encrypted": "krypteret", "macro": "makroer", "unsafe": "usikker", "corrupt": "beskadiget",
              "unsupported": "ikke understøttet", "too_large": "for stor", "timeout": "tog for lang tid"}
# the limit a quarantined email broke: for staff, and for the sender ("… fordi {why}")
QUARANTINE = {
    "too_deep": "for mange dele inde i hinanden",
    "too_many_parts": "for mange dele",
    "too_many_headers": "for mange brevhoveder",
    "header_line_too_long": "en for lang brevhovedlinje",
    "unparseable": "kunne ikke læses",
    "over_memory_budget": "ville kræve for meget hukommelse at læse",
    "worker_gave_up": "behandlingen fejlede for mange gange",
}
QUARANTINE_WHY = {
    "too_deep": "den består af for mange e-mails inde i hinanden",
    "too_many_parts": "den har for mange dele og vedhæftede filer",
    "too_many_headers": "den har for mange brevhoveder",
    "header_line_too_long": "et af dens brevhoveder er for langt",
    "unparseable": "dens opbygning ikke kunne læses",
    "over_memory_budget": "den er for stor og indviklet til, at vi kan læse den automatisk",
    "worker_gave_up": "den fik behandlingen til at fejle flere gange",
}
ATTEMPTS = "{attempts} forsøg"

WE_NEED = "Vi har brug for {expected}."
PROBLEMS = {
    "missing": "Feltet er ikke udfyldt.",
    "too_low": "»{value}« er for lavt.",
    "too_high": "»{value}« er for højt.",
    "unreadable": "{value_problem}.",
    "partner_rows": "{rows}.",
    "partners_missing": "Ansøgningen er markeret som et samarbejde, men ingen samarbejdskommuner er angivet.",
    "population_below_target": "Antal indbyggere ({population}) er mindre end antal borgere i målgruppen "
                               "({target_group_size}).",
    "not_approved": "Ansøgningen er markeret som ikke godkendt af direktøren. Opslaget kræver, at ansøgningen er "
                    "direktørgodkendt, før den kan komme i betragtning.",
    "approval_after_receipt": "Datoen {approval_date} ligger efter den dag, ansøgningen blev modtaget "
                              "({received_on}).",
    "legacy": "{text}",
}
PARTNER_ROW = "række {row}: {troubles}"
LINE = "Linje {line}: {text}"
VALUES = {
    "not_a_number": "»{value}« er ikke et tal",
    "not_whole": "»{value}« er ikke et helt tal",
    "several_numbers": "»{value}« indeholder mere end ét tal",
    "invalid_date": "»{value}« er ikke en gyldig dato",
    "unreadable_date": "»{value}« kan ikke læses som en dato (skriv fx 2-9-2019)",
    "neither_yes_nor_no": "»{value}« er hverken Ja eller Nej",
    "mark_without_yes_no": "»{value}« viser en markering uden Ja eller Nej",
    "both_yes_and_no": "både Ja og Nej er markeret",
    "phone": "»{value}« er ikke et dansk telefonnummer på 8 cifre",
    "cvr_format": "»{value}« er ikke et CVR-nummer på 8 cifre",
    "cvr_check_digit": "»{value}« er ikke et gyldigt CVR-nummer (kontrolcifferet passer ikke)",
    "email": "»{value}« er ikke en gyldig e-mailadresse",
    "postal": "»{value}« er ikke et firecifret postnummer efterfulgt af by",
    "not_a_municipality": "»{value}« er ikke navnet på en dansk kommune",
    "municipality_missing": "kommunens navn mangler",
    "column_missing": "{column} mangler",
    "line_layout": "skriv »Kommune; antal i målgruppen; antal indbyggere«",
    "line_yes_no": "skriv Ja eller Nej i fjerde kolonne",
}
COLUMNS = {"municipality": "kommune", "target_group_size": "antal borgere i målgruppen",
           "population": "antal indbyggere"}
EXPECTED = {
    "municipality": "navnet på en af Danmarks 98 kommuner, fx »Aarhus Kommune«",
    "postal_code_city": "et firecifret postnummer efterfulgt af byen, fx »8000 Aarhus C«",
    "cvr": "et gyldigt CVR-nummer på 8 cifre",
    "contact_name": "kontaktpersonens navn",
    "contact_email": "en gyldig e-mailadresse, fx »navn@kommune.dk«",
    "contact_phone": "et telefonnummer på 8 cifre, evt. med +45",
    "joint_application": "at enten Ja eller Nej er markeret",
    "partners": "en række pr. samarbejdskommune med kommunens navn, antal borgere i målgruppen og antal indbyggere",
    "target_group_size": "et helt tal på mindst 1",
    "population": "et helt tal, mindst lige så stort som målgruppen",
    "already_implemented": "at enten Ja eller Nej er markeret",
    "meeting_leaders_count": "et helt tal fra 1 til 6",
    "intro_course_count": "et helt tal fra 0 til 24",
    "startup_meeting": "at enten Ja eller Nej er markeret",
    "director_approved": "at ansøgningen er godkendt af direktøren (Ja), som opslaget kræver",
    "director_name": "direktørens navn",
    "approval_date": "datoen for direktørens godkendelse, fx »2-9-2019«, og ikke senere end den dag, e-mailen "
                     "blev modtaget",
}

RESEND = "Gem venligst skemaet som et almindeligt Word-dokument (.docx) uden adgangskode og send det igen."
REFUSALS = {
    "encrypted_pdf": "Filen »{filename}« er en krypteret PDF.",
    "password": "Filen »{filename}« er beskyttet med adgangskode.",
    "macros": "Filen »{filename}« indeholder makroer, som vi af sikkerhedshensyn ikke åbner.",
    "macro_document": "Filen »{filename}« er et dokument med makroer (.docm), som vi af sikkerhedshensyn ikke "
                      "åbner.",
    "misnamed": "Filen »{filename}« er ikke et Word- eller PDF-dokument, selv om navnet siger det.",
    "damaged": "Filen »{filename}« er beskadiget og kan ikke åbnes.",
    "not_word": "Filen »{filename}« er ikke et gyldigt Word-dokument.",
    "unusual_structure": "Filen »{filename}« har en usædvanlig opbygning og åbnes ikke.",
    "zip_bomb": "Filen »{filename}« ser ud til at være en såkaldt zip-bombe og åbnes ikke.",
    "unpacks_too_large": "Filen »{filename}« fylder for meget udpakket.",
    "unsafe_xml": "Filen »{filename}« indeholder usikre XML-erklæringer og åbnes ikke.",
    "pdf_password": "PDF-filen »{filename}« er beskyttet med adgangskode.",
    "pdf_damaged": "PDF-filen »{filename}« er beskadiget og kan ikke åbnes.",
    "pdf_unreadable": "PDF-filen »{filename}« kan ikke læses.",
    "word_damaged": "Word-dokumentet »{filename}« er beskadiget og kan ikke åbnes.",
    "doc_unsupported": "Filen »{filename}« er gemt i det gamle Word 97-2003-format (.doc), som vi ikke kan læse "
                       "lige nu.",
    "doc_timeout": "Word 97-2003-filen »{filename}« kunne ikke åbnes i tide.",
    "doc_damaged": "Word 97-2003-filen »{filename}« er beskadiget og kan ikke åbnes.",
    "slow": "Filen »{filename}« kunne ikke læses inden for {seconds} sekunder.",
    "resources": "Filen »{filename}« kunne ikke åbnes sikkert: den brugte for mange ressourcer.",
    "memory": "Filen »{filename}« kræver for meget hukommelse at åbne.",
    "legacy": "{text}",
}

# a decision's grounds as its letter gives them (each once); {…} are the ground's parameters, already worded
GROUNDS = {
    "selected": "Ansøgningerne er prioriteret efter opslagets to tildelingskriterier: først målgruppens relative "
                "størrelse, derefter kommunens erfaring med Åben Dialog. Jeres ansøgning har en målgruppe på "
                "{target_group_total} borgere ud af {population_total} indbyggere ({share} %){experience}. Det "
                "placerer den som nr. {rank} af {ranked} vurderede ansøgninger og blandt de {selected} udvalgte.",
    "ranked_lower": "Ansøgningerne er prioriteret efter opslagets to tildelingskriterier: først målgruppens "
                    "relative størrelse, derefter kommunens erfaring med Åben Dialog. Jeres ansøgning har en "
                    "målgruppe på {target_group_total} borgere ud af {population_total} indbyggere "
                    "({share} %){experience}. Den blev nr. {rank} af {ranked} vurderede ansøgninger. Den lavest "
                    "placerede af de udvalgte ansøgninger havde en andel på {lowest_selected_share} %.",
    "tied": "Jeres ansøgning deler {rank}. pladsen med {with}: ansøgningerne står lige efter begge kriterier.",
    "selection_reason": "Udvælgelsen følger ikke rangordenen alene, fordi ansøgninger på samme plads ikke alle "
                        "kunne udvælges. Socialstyrelsens begrundelse for valget: {reason}",
    "rejected": "Socialstyrelsen har afvist ansøgningen: {ground}",
    "rejected_unstated": "Socialstyrelsen har afvist ansøgningen.",
    "incomplete": "Ansøgningen var ikke komplet, da ansøgningerne blev vurderet. Der manglede: {missing}.",
    "incomplete_unstated": "Ansøgningen var ikke komplet, da ansøgningerne blev vurderet.",
    "not_approved": "Opslaget stiller som minimumskriterium, at »kommunens ansøgning om implementeringsstøtte skal "
                    "være direktørgodkendt«. Jeres ansøgning er ikke godkendt af kommunens direktør (punkt 8.1 i "
                    "skemaet er ikke besvaret med »Ja«), så kriteriet er ikke opfyldt.",
    "numbers_missing": "Antal borgere i målgruppen eller antal indbyggere manglede, så ansøgningen kunne ikke "
                       "vurderes efter kriterierne.",
    "late": "Ansøgningen blev modtaget {received}, efter ansøgningsfristen {deadline}. Opslaget kræver, at "
            "ansøgningen er modtaget senest ved fristen, så den er ikke vurderet.",
    "late_admitted": "Ansøgningen blev modtaget {received}, efter ansøgningsfristen {deadline}. Socialstyrelsen "
                     "har alligevel vurderet den: {reason}",
    "late_admitted_by_rule": "Ansøgningen blev modtaget {received}, efter ansøgningsfristen {deadline}. I denne "
                             "runde vurderes ansøgninger modtaget efter fristen på lige fod med de øvrige.",
    "not_assessed": "Ansøgningen indgik ikke i udvælgelsen, fordi den kom, efter udvælgelsen var indstillet.",
}
# the same grounds as the ranking shows them to staff, short
GROUND_LABELS = {
    "rejected": "Afvist af Socialstyrelsen; til kommunen: »{ground}«",
    "rejected_unstated": "Afvist af Socialstyrelsen (ingen begrundelse til kommunen endnu)",
    "incomplete": "Ikke komplet: {missing}",
    "incomplete_unstated": "Ikke komplet",
    "not_approved": "Ikke direktørgodkendt (8.1): opslagets minimumskriterium er ikke opfyldt",
    "numbers_missing": "Antal borgere i målgruppen (4.1) eller antal indbyggere (4.2) mangler",
    "late": "Modtaget {received}, efter fristen; ikke med, medmindre den optages med en begrundelse",
    "not_assessed": "Ikke med i udvælgelsen",
}
EXPERIENCE = {"none": ", og ingen af kommunerne i ansøgningen har implementeret Åben Dialog før",
              "all": ", og alle kommunerne i ansøgningen har implementeret Åben Dialog før",
              "some": ", og {percent} % af kommunerne i ansøgningen har ikke implementeret Åben Dialog før"}
AND = " og "
# a decision letter's state (storage.states.LetterState), the same words on every page and in the case file
LETTER_STATES = {"drafted": "udkast, venter på godkendelse", "approved": "godkendt, ikke sendt",
                 "queued": "i udbakken", "sent": "sendt", "failed": "afsendelsen fejlede",
                 "no_address": "ikke sendt: ingen adresse at svare"}
# a reply's kind and status (storage.states.ReplyKind, ReplyStatus), on the pages and in the case file
REPLY_KINDS = {"acknowledgement": "Kvittering", "clarification": "Anmodning om oplysninger",
               "size_rejection": "Afvist: for stor", "rejection": "Afvisning", "receipt": "Bekræftelse",
               "decision": "Afgørelse", "staff_reply": "Svar fra sagsbehandler",
               "forward": "Videresendt spørgsmål"}
REPLY_STATUS = {"pending": "afventer afsendelse", "sent": "sendt", "failed": "fejlet", "held": "tilbageholdt"}
# why something is on the start page (storage.states.Attention), and how an email was dealt with (Handled)
ATTENTION = {"question": "Spørgsmål uden skema", "follow_up": "Svar på en ansøgning",
             "after_decision": "Henvendelse efter afgørelsen", "trouble": "Fejlet eller i karantæne",
             "forged": "Mulig forfalsket afsender (ikke besvaret)",
             "overdue": "Svarfristen er overskredet", "not_reviewed": "Ikke gennemgået"}
HANDLED = {"answered": "besvaret", "forwarded": "videresendt", "linked": "knyttet til en ansøgning",
           "noted": "markeret som behandlet"}
# the states staff see: an application's (storage.states.ApplicationStatus), an inbound email's as
# web.pages.message_state names it (its outcome, or received, error, parked), a round's decision (DecisionState)
APPLICATION_STATES = {"complete": "Komplet", "needs_clarification": "Afventer svar", "rejected": "Afvist",
                      "awarded": "Tilsagn", "declined": "Afslag"}
MESSAGE_STATES = {"application": "Ansøgning", "follow_up": "Opfølgning", "rejected": "Afvist", "ignored": "Ignoreret",
                  "duplicate": "Dublet", "quarantined": "I karantæne", "received": "Under behandling",
                  "error": "Fejl", "parked": "Opgivet (karantæne)"}
DECISION_STATES = {"proposed": "indstillet, venter på godkendelse", "returned": "sendt tilbage",
                   "approved": "godkendt, brevene er ikke sendt", "sent": "afgjort, brevene er frigivet til afsendelse",
                   "withdrawn": "trukket tilbage af den, der indstillede"}
