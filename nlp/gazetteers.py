"""Word lists the provider rules lean on: the member bodies, other organisations, places.

These are general knowledge of the four professions (marine surveying, information management,
motor industry, biomedical science), not phrases from any message. Extend them freely.
"""

from __future__ import annotations


def _words(block: str) -> list[str]:
    """The whitespace-separated words of a block of text."""
    return block.split()


INSTITUTE_ACRONYMS: tuple[str, ...] = ("IIMS", "IIM", "IMI", "IBMS")
"""The member bodies; a mention of one (or of "the Institute") makes the provider ``institute``."""

INSTITUTE_NAMES: tuple[str, ...] = (
    "the institute",
    "international institute of marine surveying",
    "institute of information management",
    "institute of the motor industry",
    "institute of biomedical science",
    # the bodies' own publications
    "the biomedical scientist",
    "british journal of biomedical science",
    "iims report",
    "the report magazine",
    "motorpro",
    "information management journal",
    "imi awards",
)

ORGANISATIONS: tuple[str, ...] = (
    # health and science
    "NHS", "RCPath", "Royal College of Pathologists", "HCPC", "UKAS", "NEQAS", "UK NEQAS",
    "MHRA", "NICE", "Public Health England", "UKHSA", "WHO", "BSH", "BSI", "ACB", "ACSLM",
    "NHSBT", "NCSC", "e-LfH", "The Lancet", "Lancet", "BMJ", "Nature", "The Pathologist",
    "Environment Agency", "National Archives",
    "Health Education England", "NHS England", "Royal Society of Biology",
    # information management
    "The National Archives", "TNA", "ICO", "ARA", "IRMS", "ARMA", "AIIM", "CILIP",
    "Jisc", "British Library", "Information Commissioner", "Digital Preservation Coalition",
    "DPC", "IAPP", "BCS",
    # motor industry
    "City & Guilds", "City and Guilds", "Motor Ombudsman", "DVSA", "SMMT", "RAC", "Thatcham",
    "Euro NCAP", "Autocar", "Garage Wire", "AM-online", "Professional Motor Mechanic", "Haynes",
    "Remit", "Autotech", "Automechanika", "MECS", "Autosport International",
    # marine
    "RYA", "MCA", "RNLI", "Lloyd's Register", "Lloyds Register", "DNV", "Bureau Veritas",
    "RINA", "YDSA", "IMO", "British Marine", "UKHO", "MAIB", "ABYC", "Yachting Monthly",
    "Practical Boat Owner", "PBO", "Motor Boat & Yachting", "YBW", "Yachting World",
    "Classic Boat", "Sailing Today", "METSTRADE", "Seawork", "IBEX", "RORC", "IMarEST", "GWO",
    "Medica", "MEDLAB", "Lab Innovations", "Infosecurity Europe", "InfoSec Europe",
    "Big Data LDN",
    # publishers, platforms, colleges, charities
    "Routledge", "Wiley", "Elsevier", "Springer", "Facet Publishing", "Kogan Page", "Bloomsbury",
    "Adlard Coles", "UCL", "LSE", "KCL", "UWE", "UEA", "UCLan",
    "Taylor & Francis", "Coursera", "Udemy", "FutureLearn", "LinkedIn Learning", "LinkedIn",
    "Open University", "OU", "edX", "Pearson", "BTEC", "Age UK", "Red Cross",
    "St John Ambulance", "Scouts", "Girlguiding", "Citizens Advice", "Samaritans", "Oxfam",
    "Rotary", "Lions Club", "Prince's Trust", "STEM Ambassadors", "STEM Learning", "BBC", "CIPD",
    "CMI", "ILM", "Axelos", "APM", "PMI",
)
"""Named bodies, publishers and publications: a mention makes the provider ``external``."""

TOPIC_ACRONYMS: frozenset[str] = frozenset(
    _words(
        """
        EV EVS HV ADAS GDPR CAN LIN NVQ HND HNC MOT LIMS AI IT PPE COSHH ROPA EDRMS BI SQL
        MSC BSC PHD MA BA AGM CPD GRP LPG DPF ECU OBD ABS SRS TPMS BMS PCR ELISA QA QC UK US
        EU FOI DPIA SOP SOPS HR IG IM RM ICT CRM ERP API AWD 4X4 DSG CVT HGV PSV LGV MIG TIG
        NDT UT MPI VHF GPS AIS GMDSS DC AC LED ISO BS EN PAS ECDL IOSH RYA EPA DBMS MRI CT
        ICU A&E ED ID COVID POCT AMR EQA IQC MALDI FBC HBA1C CRP TOF QMS UKCA CE OEM ADR KPI
        """
    )
)
"""Capitalised abbreviations that name a topic, not an organiser ("GDPR training")."""

EVENT_OR_SERVICE_NOUNS: frozenset[str] = frozenset(
    _words(
        """
        course courses seminar seminars webinar webinars masterclass module modules training
        programme program academy workshop workshops conference congress symposium summit
        expo exhibition show fair festival paper papers article articles journal magazine
        rules guidance guide report bulletin newsletter group forum meeting event events
        centre center podcast series session sessions e-learning column feature
        website blog review textbook book handbook standard standards
        """
    )
)
"""Nouns that, right after an unknown capitalised name, make that name the organiser."""

CASED_NAMES: frozenset[str] = frozenset({"Scouts", "Rotary", "Samaritans", "Pearson", "Springer",
                                        "Nature", "Lancet", "Medica", "Remit", "Haynes"})
"""Organisation names that are also ordinary words: matched only as capitalised."""

BRANDS: tuple[str, ...] = (
    "Bosch", "Kia", "Hyundai", "Ford", "JLR", "Jaguar Land Rover", "BMW", "Toyota", "VW",
    "Volkswagen", "Audi", "Skoda", "Mercedes", "Mercedes-Benz", "Renault", "Nissan", "Honda",
    "Mazda", "Tesla", "Vauxhall", "Stellantis", "Peugeot", "Citroen", "Volvo", "Polestar",
    "Snap-on", "Autodata", "Delphi", "Denso", "Valeo", "Castrol", "Halfords", "Kwik Fit",
    "Autologic", "Hella", "Pico Technology", "GSF", "Euro Car Parts", "LKQ", "Sunseeker",
    "Princess Yachts", "Fairline", "Beneteau", "Volvo Penta", "Yanmar", "Raymarine", "Garmin",
    "Microsoft", "Google", "AWS", "Amazon", "Oracle", "OpenText", "Roche", "Abbott",
    "Siemens", "Siemens Healthineers", "Beckman Coulter", "Sysmex", "Thermo Fisher", "Randox",
    "Bio-Rad", "Werfen", "Mini", "Jaguar", "Land Rover",
)
"""Companies and brands: the provider only where they run or host something ("at Bosch",
"Kia academy", "hosted by JLR"), not when merely named ("restored a 1967 Mini")."""

BRAND_CONTEXT_AFTER: frozenset[str] = frozenset(
    _words(
        """
        academy training course courses webinar webinars workshop seminar university factory
        plant centre center site headquarters hq event events open day school college's
        technical e-learning module modules programme program masterclass
        """
    )
)

ORG_HEADS: frozenset[str] = frozenset(
    _words(
        """
        university college school academy institute institution society association council
        trust ltd limited plc llp inc archives archive library museum training services
        solutions consulting consultancy federation guild board agency authority centre
        center foundation press publishing publications publishers magazine journal monthly
        weekly news review times gazette show expo exhibition festival fair conference
        congress symposium summit forum awards club partnership met uni group bank motors
        boatyard shipyard garage dealership laboratories labs hospital hospitals infirmary
        clinic ministry department yachts boats
        """
    )
)
"""Words that make a capitalised name an organisation or named event ("Solent University")."""

GENERIC_NAME_WORDS: frozenset[str] = frozenset(
    _words(
        """
        the a an of and for & in on at to annual national international regional local uk
        british european world global boat boats trade motor car cars auto automotive marine
        yacht yachting records information management data digital lab laboratory pathology
        biomedical science technical technician technicians ev electric vehicle vehicles
        members member professional cpd online virtual new spring summer autumn winter
        """
    )
)
"""Words that, on their own, do not make a name specific ("Annual Boat Show" is generic)."""

PLACES: frozenset[str] = frozenset(
    _words(
        """
        london birmingham manchester liverpool leeds sheffield bristol newcastle nottingham
        leicester coventry bradford cardiff swansea newport edinburgh glasgow aberdeen
        dundee inverness belfast derry southampton portsmouth plymouth poole bournemouth
        brighton exeter falmouth weymouth cowes lymington hamble warsash gosport fareham
        chichester farnborough reading oxford cambridge milton keynes northampton
        peterborough norwich ipswich colchester chelmsford southend dover folkestone
        canterbury maidstone guildford woking crawley gatwick heathrow luton watford st
        albans stevenage york hull harrogate lincoln derby stoke wolverhampton telford
        shrewsbury hereford worcester gloucester cheltenham swindon bath salisbury
        winchester basingstoke newbury slough windsor kent surrey sussex hampshire dorset
        devon cornwall somerset wiltshire essex suffolk norfolk yorkshire lancashire
        cheshire cumbria durham northumberland midlands scotland wales england ireland
        london's solent harwich felixstowe tilbury grimsby sunderland middlesbrough carlisle
        preston blackpool bolton wigan warrington chester wrexham bangor stirling perth
        rotterdam amsterdam hamburg paris cannes monaco genoa barcelona palma dusseldorf
        düsseldorf frankfurt munich berlin stuttgart brussels antwerp dublin cork lisbon
        madrid rome milan venice athens istanbul dubai singapore hong kong new york miami
        fort lauderdale sydney auckland la spezia la rochelle southampton's nec excel
        olympia
        """
    )
)
"""Place names: "at Farnborough" or "in London" says where, not who organised it."""

NATIONALITIES: frozenset[str] = frozenset(
    _words(
        """
        english spanish french german italian welsh scottish irish british european american
        chinese japanese dutch polish portuguese arabic greek russian swedish norwegian
        danish finnish latin mandarin hindi urdu
        """
    )
)

WEEKDAY_MONTH_WORDS: frozenset[str] = frozenset(
    _words(
        """
        monday tuesday wednesday thursday friday saturday sunday january february march
        april may june july august september october november december mon tue tues wed thu
        thur thurs fri sat sun jan feb mar apr jun jul aug sep sept oct nov dec
        """
    )
)
