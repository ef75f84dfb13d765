//! The words demo data is made of: themes, places, programmes, partners, units, meetings and
//! official contacts, in Swedish as the region's own content.

use crate::{official_contacts::ContactKind, organisations::OrganisationKind, programmes::Fund};

pub(super) const THEMES: &[&str] = &[
    "Hållbar vätgasproduktion",
    "Digital vård i glesbygd",
    "Cirkulär skogsindustri",
    "Fossilfri sjöfart",
    "Kompetensförsörjning inom vården",
    "Smart specialisering",
    "Klimatanpassning av kustsamhällen",
    "Kulturarv och besöksnäring",
    "Innovation i livsmedelskedjan",
    "Samiska kulturnäringar",
    "Energieffektiva fastigheter",
    "Unga entreprenörer",
    "Grön omställning i industrin",
    "Hållbara transporter",
    "Batterivärdekedjan",
    "Biobaserade material",
    "Flerspråkiga skolor",
    "Folkhälsa och fysisk aktivitet",
    "Digital kompetens för äldre",
    "Säker dricksvattenförsörjning",
];
pub(super) const PLACES: &[&str] = &[
    "Mittnorden",
    "Bottniska viken",
    "Västernorrland",
    "Norra Sverige och Finland",
    "Barentsregionen",
    "Höga kusten",
    "Ådalen",
    "Sundsvallsregionen",
    "Östersjöregionen",
    "Nordkalotten",
];
/// Programmes (name, fund) with two priorities each, their objectives numbered.
pub(super) const PROGRAMMES: &[(&str, Option<Fund>)] = &[
    ("Interreg Aurora", Some(Fund::Erdf)),
    ("Interreg Europe", Some(Fund::Erdf)),
    ("Interreg Östersjön", Some(Fund::Erdf)),
    ("Horisont Europa", None),
    ("Erasmus+", None),
    ("Kreativa Europa", None),
    ("LIFE", None),
    ("Regionalfonden Mellersta Norrland", Some(Fund::Erdf)),
    ("ESF+", Some(Fund::EsfPlus)),
];
pub(super) const PRIORITIES: &[(&str, &[(&str, &str)])] = &[
    (
        "Ett smartare Europa",
        &[
            ("RSO1.1", "Forsknings- och innovationskapacitet"),
            (
                "RSO1.3",
                "Hållbar tillväxt och konkurrenskraft i små och medelstora företag",
            ),
        ],
    ),
    (
        "Ett grönare Europa",
        &[
            ("RSO2.1", "Energieffektivitet"),
            ("RSO2.4", "Klimatanpassning och katastrofförebyggande"),
        ],
    ),
];
pub(super) const PARTNERS: &[(&str, OrganisationKind, &str)] = &[
    (
        "Regional Council of Lapland",
        OrganisationKind::Region,
        "FI",
    ),
    ("Nordland fylkeskommune", OrganisationKind::Region, "NO"),
    ("Trøndelag fylkeskommune", OrganisationKind::Region, "NO"),
    ("Österbottens förbund", OrganisationKind::Region, "FI"),
    ("Region Jämtland Härjedalen", OrganisationKind::Region, "SE"),
    ("Mittuniversitetet", OrganisationKind::University, "SE"),
    ("Umeå universitet", OrganisationKind::University, "SE"),
    ("Sundsvalls kommun", OrganisationKind::Municipality, "SE"),
    ("Härnösands kommun", OrganisationKind::Municipality, "SE"),
    ("Örnsköldsviks kommun", OrganisationKind::Municipality, "SE"),
    ("Kramfors kommun", OrganisationKind::Municipality, "SE"),
    (
        "Länsstyrelsen Västernorrland",
        OrganisationKind::Authority,
        "SE",
    ),
    ("Tillväxtverket", OrganisationKind::ProgrammeBody, "SE"),
    (
        "Höga Kusten Destinationsutveckling",
        OrganisationKind::Company,
        "SE",
    ),
    ("Norrlandsförbundet", OrganisationKind::Ngo, "SE"),
    (
        "Conference of Peripheral Maritime Regions",
        OrganisationKind::Network,
        "BE",
    ),
    (
        "Assembly of European Regions",
        OrganisationKind::Network,
        "FR",
    ),
];
pub(super) const UNITS: &[&str] = &[
    "Regional utveckling",
    "Hälso- och sjukvård",
    "Kultur",
    "Kollektivtrafik",
    "Internationella enheten",
];
pub(super) const MEETINGS: &[&str] = &[
    "Övervakningskommittén",
    "Styrgruppsmöte",
    "Årsmöte",
    "Referensgruppsmöte",
    "Partnerskapsmöte",
];

/// Official contacts: kind, title and the region's participants by role.
pub(super) const CONTACTS: &[(ContactKind, &str, &[&str])] = &[
    (
        ContactKind::Delegation,
        "Delegationsbesök om vätgas och fossilfria transporter",
        &["regionstyrelsens ordförande", "regiondirektör"],
    ),
    (
        ContactKind::Visit,
        "Studiebesök om glesbygdsvård",
        &["hälso- och sjukvårdsdirektör", "internationell strateg"],
    ),
    (
        ContactKind::Meeting,
        "Partnerskapsmöte inför Interreg-ansökan",
        &["internationell strateg", "projektledare"],
    ),
    (
        ContactKind::Meeting,
        "Möte om Östersjöstrategins flaggskepp",
        &["regionråd", "internationell strateg"],
    ),
];

/// The board's positions: title and text.
pub(super) const POSITIONS: &[(&str, &str)] = &[
    (
        "Sammanhållningspolitiken efter 2027",
        "Regionen anser att sammanhållningspolitiken även efter 2027 ska omfatta alla regioner och bygga på partnerskap och flernivåstyre.",
    ),
    (
        "Transeuropeiska transportnätet genom Mittnorden",
        "Regionen verkar för att E14 och Mittbanan ingår i det utökade stomnätet.",
    ),
    (
        "Hälso- och sjukvårdssamarbete över gränsen",
        "Regionen ställer sig bakom ett fördjupat samarbete med Trøndelag om akutsjukvård i glesbygd.",
    ),
];
