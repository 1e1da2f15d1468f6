"""Rebuild the bundled sample META (kgbuild/sample/META) from the cumulus-library-umls ICD10CM rows.

Usage: python -m kgbuild.sample.build_sample PATH/TO/cumulus-library-umls

The real rows are padded to full RRF width; everything else (second sources, languages, synonyms, suppressed
atoms, definitions, semantic types, metadata) is written here, by hand, and marked as such in SOURCES.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

OUT = Path(__file__).parent / "META"

# Written atoms: (cui, lat, ts, stt, ispref, aui, sab, tty, code, str, srl, suppress)
ATOMS = [
    # MeSH preferred names and entry terms for concepts of the ICD10CM subset
    ("C0006840", "ENG", "P", "PF", "Y", "A9000001", "MSH", "MH", "D002177", "Candidiasis", 0, "N"),
    ("C0006840", "ENG", "S", "PF", "Y", "A9000002", "MSH", "ET", "D002177", "Moniliasis", 0, "N"),
    ("C0006840", "ENG", "S", "PF", "Y", "A9000003", "MSH", "ET", "D002177", "Candidosis", 0, "N"),
    ("C0006840", "ENG", "S", "PF", "N", "A9000004", "MSH", "ET", "D002177", "Monilia infection", 0, "E"),
    ("C0006849", "ENG", "P", "PF", "Y", "A9000005", "MSH", "MH", "D002180", "Candidiasis, Oral", 0, "N"),
    ("C0006849", "ENG", "S", "PF", "Y", "A9000006", "MSH", "ET", "D002180", '"Thrush" (oral candidiasis)', 0, "N"),
    ("C0025007", "ENG", "P", "PF", "Y", "A9000007", "MSH", "MH", "D008457", "Measles", 0, "N"),
    ("C0025007", "ENG", "S", "PF", "Y", "A9000008", "MSH", "ET", "D008457", "Rubeola", 0, "N"),
    ("C0035920", "ENG", "P", "PF", "Y", "A9000009", "MSH", "MH", "D012409", "Rubella", 0, "N"),
    ("C0035920", "ENG", "S", "PF", "Y", "A9000010", "MSH", "ET", "D012409", "German Measles", 0, "N"),
    ("C0008049", "ENG", "P", "PF", "Y", "A9000011", "MSH", "MH", "D002644", "Chickenpox", 0, "N"),
    ("C0008049", "ENG", "S", "PF", "Y", "A9000012", "MSH", "ET", "D002644", "Varicella", 0, "N"),
    ("C0019360", "ENG", "P", "PF", "Y", "A9000013", "MSH", "MH", "D006562", "Herpes Zoster", 0, "N"),
    ("C0019360", "ENG", "S", "PF", "Y", "A9000014", "MSH", "ET", "D006562", "Shingles", 0, "N"),
    ("C0019360", "ENG", "S", "VW", "Y", "A9000015", "MSH", "PM", "D006562", "Zoster, Herpes", 0, "N"),
    ("C0018081", "ENG", "P", "PF", "Y", "A9000016", "MSH", "MH", "D006069", "Gonorrhea", 0, "N"),
    ("C0018081", "ENG", "S", "PF", "Y", "A9000017", "MSH", "ET", "D006069", "Gonococcal Infection", 0, "N"),
    ("C0040921", "ENG", "P", "PF", "Y", "A9000018", "MSH", "MH", "D014245", "Trichomonas Infections", 0, "N"),
    ("C0019693", "ENG", "P", "PF", "Y", "A9000019", "MSH", "MH", "D015658", "HIV Infections", 0, "N"),
    ("C0019693", "ENG", "S", "PF", "Y", "A9000020", "MSH", "ET", "D015658", "HIV Disease", 0, "N"),
    ("C0039131", "ENG", "P", "PF", "Y", "A9000021", "MSH", "MH", "D013590", "Syphilis, Congenital", 0, "N"),
    ("C0040592", "ENG", "P", "PF", "Y", "A9000022", "MSH", "MH", "D014141", "Trachoma", 0, "N"),
    # Organisms: a second kind of concept, reached only through relations
    ("C0006836", "ENG", "P", "PF", "Y", "A9000023", "MSH", "MH", "D002175", "Candida", 0, "N"),
    ("C0025012", "ENG", "P", "PF", "Y", "A9000024", "MSH", "MH", "D008459", "Measles virus", 0, "N"),
    ("C0035921", "ENG", "P", "PF", "Y", "A9000025", "MSH", "MH", "D012410", "Rubella virus", 0, "N"),
    ("C0042338", "ENG", "P", "PF", "Y", "A9000026", "MSH", "MH", "D014645", "Herpesvirus 3, Human", 0, "N"),
    ("C0042338", "ENG", "S", "PF", "Y", "A9000027", "MSH", "ET", "D014645", "Varicella-zoster virus", 0, "N"),
    ("C0027573", "ENG", "P", "PF", "Y", "A9000028", "MSH", "MH", "D009344", "Neisseria gonorrhoeae", 0, "N"),
    ("C0040841", "ENG", "P", "PF", "Y", "A9000029", "MSH", "MH", "D014211", "Treponema pallidum", 0, "N"),
    # SNOMED CT atoms (restriction level 9): a licence-restricted source for the publish guard
    ("C0006840", "ENG", "S", "PF", "N", "A9000030", "SNOMEDCT_US", "PT", "78048006", "Candidiasis", 9, "N"),
    ("C0006840", "ENG", "S", "PF", "Y", "A9000031", "SNOMEDCT_US", "FN", "78048006", "Candidiasis (disorder)", 9, "N"),
    ("C0025007", "ENG", "S", "PF", "Y", "A9000032", "SNOMEDCT_US", "FN", "14189004", "Measles (disorder)", 9, "N"),
    ("C0019360", "ENG", "S", "PF", "Y", "A9000033", "SNOMEDCT_US", "IS", "4740000", "Herpes zoster NOS", 9, "Y"),
    ("C0006840", "ENG", "S", "PF", "Y", "A9000034", "SNOMEDCT_US", "OP", "187006001", "Moniliasis - obsolete", 9, "O"),
    # A concept whose only atom is obsolete: dropped by the default filters, and counted
    (
        "C1306577",
        "ENG",
        "P",
        "PF",
        "Y",
        "A9000035",
        "SNOMEDCT_US",
        "OP",
        "266128007",
        "Old syphilis (obsolete)",
        9,
        "O",
    ),
    # Second and third languages
    ("C0006840", "FRE", "P", "PF", "Y", "A9000036", "MSHFRE", "MH", "D002177", "Candidose", 3, "N"),
    ("C0025007", "FRE", "P", "PF", "Y", "A9000037", "MSHFRE", "MH", "D008457", "Rougeole", 3, "N"),
    ("C0035920", "FRE", "P", "PF", "Y", "A9000038", "MSHFRE", "MH", "D012409", "Rubéole", 3, "N"),
    ("C0008049", "FRE", "P", "PF", "Y", "A9000039", "MSHFRE", "MH", "D002644", "Varicelle", 3, "N"),
    ("C0019360", "FRE", "P", "PF", "Y", "A9000040", "MSHFRE", "MH", "D006562", "Zona", 3, "N"),
    ("C0018081", "FRE", "P", "PF", "Y", "A9000041", "MSHFRE", "MH", "D006069", "Gonorrhée", 3, "N"),
    ("C0006840", "SPA", "P", "PF", "Y", "A9000042", "MSHSPA", "MH", "D002177", "Candidiasis", 3, "N"),
    ("C0025007", "SPA", "P", "PF", "Y", "A9000043", "MSHSPA", "MH", "D008457", "Sarampión", 3, "N"),
    ("C0035920", "SPA", "P", "PF", "Y", "A9000044", "MSHSPA", "MH", "D012409", "Rubéola", 3, "N"),
    ("C0008049", "SPA", "P", "PF", "Y", "A9000045", "MSHSPA", "MH", "D002644", "Varicela", 3, "N"),
    ("C0019360", "SPA", "P", "PF", "Y", "A9000046", "MSHSPA", "MH", "D006562", "Herpes Zóster", 3, "N"),
]

# Written translations (ours, not from MeSH or any other release; no code: NOCODE keeps them out of `codes`), so that
# `build-pairs --parallel-lang SPA --parallel-lang FRE` has parallel rows in every split and a cross-lingual linking
# set: (cui, lat, names...), the first name the language's preferred one.
TRANSLATIONS = [
    # held-out concepts of the default seed (test and dev), then training concepts
    ("C2887113", "SPA", "Faringitis sifilítica congénita precoz"),
    ("C0153140", "SPA", "Sífilis anal primaria"),
    ("C2893336", "SPA", "Osteopatía sifilítica secundaria"),
    ("C2893338", "SPA", "Otras afecciones sifilíticas secundarias"),
    ("C2893346", "SPA", "Otra sífilis cerebrovascular"),
    ("C0452163", "SPA", "Enfermedad inflamatoria pélvica femenina gonocócica"),
    ("C2893393", "SPA", "Absceso cerebral gonocócico"),
    ("C0040928", "SPA", "Tricomoniasis urogenital, no especificada"),
    ("C0494060", "SPA", "Infección anogenital por virus del herpes, no especificada"),
    ("C0008149", "SPA", "Infección por clamidias, no especificada"),
    ("C0035585", "SPA", "Rickettsiosis"),
    ("C0348175", "SPA", "Fiebres virales transmitidas por artrópodos y fiebres hemorrágicas virales"),
    ("C0010232", "SPA", "Viruela bovina", "Viruela de las vacas"),
    ("C2349855", "SPA", "Otras infecciones por parapoxvirus"),
    ("C2349857", "SPA", "Infección por yatapoxvirus, no especificada"),
    ("C2911588", "SPA", "Otras infecciones por yatapoxvirus"),
    ("C1955629", "SPA", "Encefalitis por herpesvirus humano 6"),
    ("C1504514", "SPA", "Infección por herpesvirus humano 7"),
    ("C0494092", "SPA", "Hepatitis B aguda sin agente delta, con coma hepático"),
    ("C0494094", "SPA", "Otras hepatitis virales agudas"),
    ("C0400913", "SPA", "Sobreinfección delta aguda de un portador de hepatitis B"),
    ("C0348199", "SPA", "Otras hepatitis virales agudas especificadas"),
    ("C0276623", "SPA", "Hepatitis viral crónica, no especificada"),
    ("C1456263", "SPA", "Hepatitis C viral no especificada sin coma hepático"),
    ("C0009186", "SPA", "Coccidioidomicosis, no especificada", "Fiebre del valle"),
    ("C0030409", "SPA", "Paracoccidioidomicosis, no especificada"),
    ("C2830236", "SPA", "Artritis por esporotricosis"),
    ("C0451644", "SPA", "Absceso cerebral feomicótico"),
    ("C0043541", "SPA", "Cigomicosis, no especificada"),
    ("C0348803", "SPA", "Mucormicosis gastrointestinal"),
    ("C0343847", "SPA", "Otras micosis especificadas"),
    ("C0033740", "SPA", "Enfermedad protozoaria, no especificada"),
    ("C0023283", "SPA", "Leishmaniasis cutánea"),
    ("C2830261", "SPA", "Meningitis en la enfermedad de Chagas"),
    ("C2830262", "SPA", "Meningoencefalitis en la enfermedad de Chagas"),
    ("C0085315", "SPA", "Meningoencefalitis por toxoplasma"),
    ("C0348268", "SPA", "Toxoplasmosis con afectación de otros órganos"),
    ("C5384617", "SPA", "Babesiosis por Babesia microti"),
    ("C0348270", "SPA", "Otras enfermedades protozoarias especificadas"),
    ("C0025012", "SPA", "Virus del sarampión"),
    ("C0020186", "SPA", "Dientes de Hutchinson"),
    ("C0275873", "SPA", "Nariz en silla de montar sifilítica"),
    ("C0348148", "SPA", "Sífilis precoz, sin otra especificación"),
    ("C0039130", "SPA", "Sífilis cardiovascular, no especificada"),
    ("C2893350", "SPA", "Meningitis sifilítica tardía"),
    ("C0039128", "SPA", "Sífilis, no especificada"),
    ("C2893381", "SPA", "Infección gonocócica del tracto genitourinario inferior, no especificada"),
    ("C2893384", "SPA", "Infección gonocócica del riñón y del uréter"),
    ("C0341755", "SPA", "Prostatitis gonocócica"),
    ("C5779547", "SPA", "Conjuntivitis gonocócica"),
    ("C0341841", "SPA", "Vulvovaginitis por clamidias"),
    ("C0451784", "SPA", "Enfermedad inflamatoria pélvica femenina por clamidias"),
    ("C2945558", "SPA", "Vulvovaginitis por tricomonas"),
    ("C0153315", "SPA", "Prostatitis por tricomonas"),
    ("C0451715", "SPA", "Peritonitis por clamidias"),
    ("C0276226", "SPA", "Encefalitis herpética", "Encefalitis por virus del herpes simple"),
    ("C1719298", "SPA", "Mielitis por herpes simple"),
    ("C0348186", "SPA", "Infección por virus del herpes, no especificada"),
    ("C2900490", "SPA", "Mielitis varicelosa"),
    ("C2900497", "SPA", "Conjuntivitis zosteriana"),
    ("C2900499", "SPA", "Queratitis zosteriana"),
    ("C0276308", "SPA", "Artritis rubeólica"),
    ("C0026143", "SPA", "Paravacuna, no especificada"),
    ("C0494093", "SPA", "Hepatitis B aguda sin agente delta y sin coma hepático"),
    ("C0026946", "SPA", "Micosis, no especificada"),
    ("C2980104", "SPA", "Micosis superficial, no especificada"),
    ("C0276684", "SPA", "Balanitis candidiásica"),
    ("C2911632", "SPA", "Sepsis por cándida"),
    ("C0343898", "SPA", "Histoplasmosis pulmonar aguda por Histoplasma capsulatum"),
    ("C0339964", "SPA", "Blastomicosis pulmonar, no especificada"),
    ("C0348258", "SPA", "Otras aspergilosis pulmonares"),
    ("C2350621", "SPA", "Eumicetoma"),
    ("C0041228", "SPA", "Tripanosomiasis africana, no especificada", "Enfermedad del sueño"),
    ("C0041232", "SPA", "Tripanosomiasis gambiense"),
    ("C0348892", "SPA", "Megaesófago en la enfermedad de Chagas"),
    ("C5385184", "SPA", "Babesiosis por Babesia duncani"),
    ("C0276822", "SPA", "Naegleriasis"),
    ("C0041296", "SPA", "Tuberculosis"),
    ("C0017418", "SPA", "Sífilis genital primaria"),
    ("C0039223", "SPA", "Tabes dorsal"),
    ("C0205858", "SPA", "Parálisis general progresiva"),
    ("C0027927", "SPA", "Neurosífilis, no especificada"),
    ("C0024286", "SPA", "Linfogranuloma venéreo por clamidias"),
    ("C0007947", "SPA", "Chancroide", "Chancro blando"),
    ("C0018190", "SPA", "Granuloma inguinal"),
    ("C0040592", "SPA", "Tracoma"),
    ("C0009770", "SPA", "Conjuntivitis por clamidias"),
    ("C0019348", "SPA", "Infecciones por virus del herpes simple"),
    ("C0153045", "SPA", "Meningitis herpética"),
    ("C2900480", "SPA", "Conjuntivitis herpética"),
    ("C2900479", "SPA", "Queratitis herpética"),
    ("C0700503", "SPA", "Meningitis varicelosa"),
    ("C0339971", "SPA", "Neumonía varicelosa"),
    ("C0153017", "SPA", "Encefalitis zosteriana"),
    ("C0153024", "SPA", "Neuralgia del trigémino posherpética"),
    ("C0037354", "SPA", "Viruela"),
    ("C0276180", "SPA", "Viruela símica", "Viruela del mono"),
    ("C0494085", "SPA", "Sarampión complicado con encefalitis"),
    ("C0494086", "SPA", "Sarampión complicado con neumonía"),
    ("C0238099", "SPA", "Encefalitis rubeólica"),
    ("C2911579", "SPA", "Neumonía rubeólica"),
    ("C3665596", "SPA", "Verrugas víricas"),
    ("C0042548", "SPA", "Verruga plantar"),
    ("C0026393", "SPA", "Molusco contagioso"),
    ("C0085273", "SPA", "Eritema infeccioso", "Quinta enfermedad"),
    ("C0276434", "SPA", "Hepatitis A aguda"),
    ("C0276609", "SPA", "Hepatitis B aguda"),
    ("C0400914", "SPA", "Hepatitis C aguda"),
    ("C2063407", "SPA", "Hepatitis E aguda"),
    ("C0524910", "SPA", "Hepatitis C viral crónica"),
    ("C0042721", "SPA", "Hepatitis viral, no especificada"),
    ("C0040261", "SPA", "Tiña de las uñas", "Onicomicosis"),
    ("C0040259", "SPA", "Tiña del pie", "Pie de atleta"),
    ("C0040252", "SPA", "Tiña del cuerpo"),
    ("C1384589", "SPA", "Tiña inguinal"),
    ("C0040262", "SPA", "Pitiriasis versicolor"),
    ("C0153251", "SPA", "Candidiasis pulmonar"),
    ("C0239295", "SPA", "Esofagitis candidiásica"),
    ("C0153256", "SPA", "Meningitis candidiásica"),
    ("C0019655", "SPA", "Histoplasmosis, no especificada"),
    ("C0005716", "SPA", "Blastomicosis, no especificada"),
    ("C0038034", "SPA", "Esporotricosis, no especificada"),
    ("C0004030", "SPA", "Aspergilosis, no especificada"),
    ("C0004031", "SPA", "Aspergilosis broncopulmonar alérgica"),
    ("C0010414", "SPA", "Criptococosis"),
    ("C0026718", "SPA", "Mucormicosis, no especificada"),
    ("C0024535", "SPA", "Paludismo por Plasmodium falciparum, sin otra especificación"),
    ("C0024537", "SPA", "Paludismo por Plasmodium vivax"),
    ("C0024530", "SPA", "Paludismo, no especificado", "Malaria"),
    ("C0023290", "SPA", "Leishmaniasis visceral", "Kala-azar"),
    ("C1328252", "SPA", "Leishmaniasis mucocutánea"),
    ("C0041234", "SPA", "Enfermedad de Chagas"),
    ("C0040558", "SPA", "Toxoplasmosis, no especificada"),
    ("C0153308", "SPA", "Coriorretinitis por toxoplasma"),
    ("C0004576", "SPA", "Babesiosis, no especificada"),
    ("C5779637", "SPA", "Neumocistosis"),
    ("C0006849", "SPA", "Candidiasis bucal", "Muguet"),
    ("C0018081", "SPA", "Gonorrea", "Blenorragia"),
    ("C0019693", "SPA", "Infecciones por VIH"),
    ("C0039131", "SPA", "Sífilis congénita"),
    ("C0040921", "SPA", "Infecciones por tricomonas"),
    ("C0006836", "SPA", "Cándida"),
    ("C0040841", "SPA", "Treponema pallidum"),
    # French: fewer, so that the two languages differ in size as in a real release
    ("C0153140", "FRE", "Syphilis anale primaire"),
    ("C2893393", "FRE", "Abcès cérébral gonococcique"),
    ("C0010232", "FRE", "Variole bovine"),
    ("C0009186", "FRE", "Coccidioïdomycose, sans précision"),
    ("C0023283", "FRE", "Leishmaniose cutanée"),
    ("C0085315", "FRE", "Méningo-encéphalite toxoplasmique"),
    ("C0276623", "FRE", "Hépatite virale chronique, sans précision"),
    ("C0043541", "FRE", "Zygomycose, sans précision"),
    ("C0025012", "FRE", "Virus de la rougeole"),
    ("C0341755", "FRE", "Prostatite gonococcique"),
    ("C0276226", "FRE", "Encéphalite herpétique"),
    ("C0041228", "FRE", "Trypanosomiase africaine, sans précision", "Maladie du sommeil"),
    ("C0039128", "FRE", "Syphilis, sans précision"),
    ("C0041296", "FRE", "Tuberculose"),
    ("C0039223", "FRE", "Tabès dorsal"),
    ("C0007947", "FRE", "Chancre mou"),
    ("C0040592", "FRE", "Trachome"),
    ("C0037354", "FRE", "Variole"),
    ("C0276180", "FRE", "Variole du singe"),
    ("C0026393", "FRE", "Molluscum contagiosum"),
    ("C0276434", "FRE", "Hépatite A aiguë"),
    ("C0276609", "FRE", "Hépatite B aiguë"),
    ("C0400914", "FRE", "Hépatite C aiguë"),
    ("C0040259", "FRE", "Pied d'athlète"),
    ("C0010414", "FRE", "Cryptococcose"),
    ("C0024530", "FRE", "Paludisme, sans précision"),
    ("C0023290", "FRE", "Leishmaniose viscérale"),
    ("C0041234", "FRE", "Maladie de Chagas"),
    ("C0040558", "FRE", "Toxoplasmose, sans précision"),
    ("C0006849", "FRE", "Candidose buccale", "Muguet"),
    ("C0019693", "FRE", "Infections à VIH"),
    ("C0039131", "FRE", "Syphilis congénitale"),
]
_SABS = {"SPA": "MSHSPA", "FRE": "MSHFRE"}
for _cui, _lat, *_names in TRANSLATIONS:
    for _i, _name in enumerate(_names):
        ATOMS.append(
            (
                _cui,
                _lat,
                "P" if _i == 0 else "S",
                "PF",
                "Y",
                f"A91{len(ATOMS):05d}",
                _SABS[_lat],
                "MH" if _i == 0 else "ET",
                "NOCODE",
                _name,
                3,
                "N",
            )
        )

# Written definitions (own wording): (cui, aui, atui, sab, def, suppress)
DEFS = [
    (
        "C0006840",
        "A9000001",
        "AT9000001",
        "MSH",
        "Infection with a fungus of the genus Candida, most often of the skin, "
        "mouth, or genital tract, usually occurring when local or systemic defences are weakened.",
        "N",
    ),
    ("C0006840", "A9000030", "AT9000002", "SNOMEDCT_US", "An infection caused by Candida yeasts.", "N"),
    (
        "C0006849",
        "A9000005",
        "AT9000003",
        "MSH",
        "Candida infection of the lining of the mouth, with creamy white patches on the tongue and cheeks.",
        "N",
    ),
    (
        "C0025007",
        "A9000007",
        "AT9000004",
        "MSH",
        "A highly contagious viral infection of childhood caused by the "
        "measles virus, with fever, cough, conjunctivitis and a spreading rash.",
        "N",
    ),
    (
        "C0035920",
        "A9000009",
        "AT9000005",
        "MSH",
        "A mild viral infection caused by the rubella virus, with rash and "
        "swollen lymph nodes; infection in early pregnancy can harm the fetus.",
        "N",
    ),
    (
        "C0008049",
        "A9000011",
        "AT9000006",
        "MSH",
        "A contagious infection, mostly of children, caused by the "
        "varicella-zoster virus and marked by an itchy rash of blisters.",
        "N",
    ),
    (
        "C0019360",
        "A9000013",
        "AT9000007",
        "MSH",
        "A painful blistering rash along one nerve territory caused by reactivation of latent varicella-zoster virus.",
        "N",
    ),
    (
        "C0018081",
        "A9000016",
        "AT9000008",
        "MSH",
        "A sexually transmitted infection caused by Neisseria gonorrhoeae, usually of the urethra or cervix.",
        "N",
    ),
    (
        "C0039131",
        "A9000021",
        "AT9000009",
        "MSH",
        "Syphilis passed from mother to child before birth by Treponema pallidum crossing the placenta.",
        "N",
    ),
    (
        "C0019693",
        "A9000019",
        "AT9000010",
        "MSH",
        "Infection with the human immunodeficiency virus, which progressively "
        "destroys CD4 lymphocytes and can lead to AIDS.",
        "N",
    ),
    (
        "C0006836",
        "A9000023",
        "AT9000011",
        "MSH",
        "A genus of yeast-like fungi, some of which cause candidiasis in humans.",
        "N",
    ),
    # Spanish definitions (our wording) on the Spanish atoms: the parallel table pairs them with the English ones
    (
        "C0025007",
        "A9000043",
        "AT9000014",
        "MSHSPA",
        "Infección viral muy contagiosa de la infancia causada por el virus del sarampión, con fiebre, tos, "
        "conjuntivitis y un exantema que se extiende.",
        "N",
    ),
    (
        "C0035920",
        "A9000044",
        "AT9000015",
        "MSHSPA",
        "Infección viral leve causada por el virus de la rubéola, con exantema e inflamación de los ganglios; en el "
        "embarazo temprano puede dañar al feto.",
        "N",
    ),
    (
        "C0008049",
        "A9000045",
        "AT9000016",
        "MSHSPA",
        "Infección contagiosa, sobre todo de niños, causada por el virus varicela-zóster y marcada por un exantema "
        "de ampollas que pica.",
        "N",
    ),
    ("C0040592", "A9000022", "AT9000012", "MSH", "", "N"),  # an empty definition: dropped
    ("C0025012", "A9000024", "AT9000013", "MSH", "An outdated definition kept only as obsolete.", "O"),
]

# Semantic types: (tui, stn, sty)
STY_DISEASE = ("T047", "B2.2.1.2.1", "Disease or Syndrome")
ORGANISM_TYPES = {
    "C0006836": ("T004", "A1.1.3.1.1.4", "Fungus"),
    "C0025012": ("T005", "A1.1.4", "Virus"),
    "C0035921": ("T005", "A1.1.4", "Virus"),
    "C0042338": ("T005", "A1.1.4", "Virus"),
    "C0027573": ("T007", "A1.1.2", "Bacterium"),
    "C0040841": ("T007", "A1.1.2", "Bacterium"),
}

# Written relations, one direction each; the inverse row is generated as MRREL holds both:
# (cui1, rel, cui2, rela, sab, suppress) reads "cui2 is rela of cui1": the first row says
# "Candidiasis has_causative_agent Candida".
RELS = [
    ("C0006836", "RO", "C0006840", "has_causative_agent", "SNOMEDCT_US", "N"),
    ("C0025012", "RO", "C0025007", "has_causative_agent", "SNOMEDCT_US", "N"),
    ("C0035921", "RO", "C0035920", "has_causative_agent", "SNOMEDCT_US", "N"),
    ("C0042338", "RO", "C0008049", "has_causative_agent", "SNOMEDCT_US", "N"),
    ("C0042338", "RO", "C0019360", "has_causative_agent", "SNOMEDCT_US", "N"),
    ("C0027573", "RO", "C0018081", "has_causative_agent", "SNOMEDCT_US", "N"),
    ("C0040841", "RO", "C0039131", "has_causative_agent", "SNOMEDCT_US", "N"),
    ("C0006840", "CHD", "C0006849", "isa", "SNOMEDCT_US", "N"),
    ("C0006840", "RN", "C0006849", "", "MSH", "N"),
    ("C0025007", "RO", "C0035920", "", "MSH", "O"),  # obsolete: dropped unless --keep-suppressed
]
INVERSE = {
    "CHD": "PAR",
    "PAR": "CHD",
    "RB": "RN",
    "RN": "RB",
    "RO": "RO",
    "SY": "SY",
    "isa": "inverse_isa",
    "has_causative_agent": "causative_agent_of",
    "": "",
}

MRSAB = [
    # VCUI|RCUI|VSAB|RSAB|SON|SF|SVER|VSTART|VEND|IMETA|RMETA|SLC|SCC|SRL|TFR|CFR|CXTY|TTYL|ATNL|LAT|CENC|CURVER|SABIN|SSN|SCIT
    (
        "C5555551",
        "C1140284",
        "MSH2025_2025_01_01",
        "MSH",
        "MeSH (Medical Subject Headings), 2025",
        "MSH",
        "2025",
        "",
        "",
        "2025AA",
        "",
        "",
        "",
        "0",
        "",
        "",
        "FULL",
        "MH,ET,PM",
        "",
        "ENG",
        "UTF-8",
        "Y",
        "Y",
        "MeSH",
        "",
    ),
    (
        "C5555550",
        "C1140284",
        "MSH2024_2024_01_01",
        "MSH",
        "MeSH (Medical Subject Headings), 2024",
        "MSH",
        "2024",
        "",
        "",
        "2024AA",
        "2025AA",
        "",
        "",
        "0",
        "",
        "",
        "FULL",
        "MH,ET,PM",
        "",
        "ENG",
        "UTF-8",
        "N",
        "N",
        "MeSH",
        "",
    ),
    (
        "C5555552",
        "C2711455",
        "ICD10CM_2025",
        "ICD10CM",
        "International Classification of Diseases, Tenth Revision, Clinical Modification, 2025",
        "ICD10CM",
        "2025",
        "",
        "",
        "2025AA",
        "",
        "",
        "",
        "4",
        "",
        "",
        "FULL",
        "PT,HT",
        "",
        "ENG",
        "UTF-8",
        "Y",
        "Y",
        "ICD-10-CM",
        "",
    ),
    (
        "C5555553",
        "C1140168",
        "SNOMEDCT_US_2025_03_01",
        "SNOMEDCT_US",
        "SNOMED CT, US Edition, 2025_03_01",
        "SNOMEDCT",
        "2025_03_01",
        "",
        "",
        "2025AA",
        "",
        "",
        "",
        "9",
        "",
        "",
        "FULL",
        "PT,FN,OP,IS",
        "",
        "ENG",
        "UTF-8",
        "Y",
        "Y",
        "SNOMED CT, US Edition",
        "",
    ),
    (
        "C5555554",
        "C1140285",
        "MSHFRE2025",
        "MSHFRE",
        "MeSH French, 2025",
        "MSH",
        "2025",
        "",
        "",
        "2025AA",
        "",
        "",
        "",
        "3",
        "",
        "",
        "FULL",
        "MH",
        "",
        "FRE",
        "UTF-8",
        "Y",
        "Y",
        "MeSH French",
        "",
    ),
    (
        "C5555555",
        "C1140286",
        "MSHSPA2025",
        "MSHSPA",
        "MeSH Spanish, 2025",
        "MSH",
        "2025",
        "",
        "",
        "2025AA",
        "",
        "",
        "",
        "3",
        "",
        "",
        "FULL",
        "MH",
        "",
        "SPA",
        "UTF-8",
        "Y",
        "Y",
        "MeSH Spanish",
        "",
    ),
]

MRRANK = [
    ("0888", "MSH", "MH", "N"),
    ("0887", "MSH", "PM", "N"),
    ("0886", "MSH", "ET", "N"),
    ("0881", "SNOMEDCT_US", "PT", "N"),
    ("0880", "SNOMEDCT_US", "FN", "N"),
    ("0497", "SNOMEDCT_US", "OP", "Y"),
    ("0496", "SNOMEDCT_US", "IS", "Y"),
    ("0400", "ICD10CM", "PT", "N"),
    ("0399", "ICD10CM", "HT", "N"),
    ("0300", "MSHFRE", "MH", "N"),
    ("0290", "MSHSPA", "MH", "N"),
    ("0100", "MSH", "ET", "Y"),
]

MRDOC = [
    ("RELEASE", "umls.release.name", "release_info", "SAMPLE-2025AA"),
    ("REL", "CHD", "expanded_form", "has child relationship in a Metathesaurus source vocabulary"),
    ("REL", "PAR", "expanded_form", "has parent relationship in a Metathesaurus source vocabulary"),
    ("REL", "RB", "expanded_form", "has a broader relationship"),
    ("REL", "RN", "expanded_form", "has a narrower relationship"),
    ("REL", "RO", "expanded_form", "has relationship other than synonymous, narrower, or broader"),
    ("REL", "SY", "expanded_form", "source asserted synonymy"),
    ("REL", "CHD", "rel_inverse", "PAR"),
    ("REL", "PAR", "rel_inverse", "CHD"),
    ("REL", "RB", "rel_inverse", "RN"),
    ("REL", "RN", "rel_inverse", "RB"),
    ("REL", "RO", "rel_inverse", "RO"),
    ("REL", "SY", "rel_inverse", "SY"),
    ("RELA", "isa", "expanded_form", "Is a"),
    ("RELA", "inverse_isa", "expanded_form", "Inverse of is a"),
    ("RELA", "has_causative_agent", "expanded_form", "Has causative agent"),
    ("RELA", "causative_agent_of", "expanded_form", "Causative agent of"),
    ("RELA", "isa", "rela_inverse", "inverse_isa"),
    ("RELA", "inverse_isa", "rela_inverse", "isa"),
    ("RELA", "has_causative_agent", "rela_inverse", "causative_agent_of"),
    ("RELA", "causative_agent_of", "rela_inverse", "has_causative_agent"),
    ("TTY", "MH", "expanded_form", "Main heading"),
    ("TTY", "ET", "expanded_form", "Entry term"),
    ("TTY", "PM", "expanded_form", "Machine permutation"),
    ("TTY", "PT", "expanded_form", "Designated preferred name"),
    ("TTY", "HT", "expanded_form", "Hierarchical term"),
    ("TTY", "FN", "expanded_form", "Full form of descriptor"),
    ("TTY", "OP", "expanded_form", "Obsolete preferred name"),
    ("TTY", "IS", "expanded_form", "Obsolete synonym"),
    ("TTY", "ET", "tty_class", "entry_term"),
    ("TTY", "PM", "tty_class", "synonym"),
    ("TTY", "OP", "tty_class", "obsolete"),
    ("TTY", "IS", "tty_class", "obsolete"),
]


def rrf(fields) -> str:
    return "|".join("" if f is None else str(f) for f in fields) + "|\n"


def build(cumulus: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    lines = {}
    # MRCONSO: the real rows stop after STR (15 fields, no trailing '|'); pad SRL, SUPPRESS and CVF.
    conso, cuis = [], []
    for raw in (cumulus / "MRCONSO.RRF").read_text(encoding="utf-8").splitlines():
        f = raw.split("|")
        if f[-1] == "":
            f = f[:-1]
        f = f + [""] * (18 - len(f))
        f[15] = f[15] or "4"  # ICD10CM restriction level, as the one full-width real row says
        f[16] = f[16] or "N"
        conso.append(rrf(f))
        cuis.append(f[0])
    for i, (cui, lat, ts, stt, ispref, aui, sab, tty, code, s, srl, sup) in enumerate(ATOMS):
        conso.append(
            rrf(
                [
                    cui,
                    lat,
                    ts,
                    f"L90{i:05d}",
                    stt,
                    f"S90{i:05d}",
                    ispref,
                    aui,
                    "",
                    "",
                    code,
                    sab,
                    tty,
                    code,
                    s,
                    srl,
                    sup,
                    "",
                ]
            )
        )
        cuis.append(cui)
    lines["MRCONSO"] = conso
    # MRREL: the real rows lack CVF; add it, plus the opposite direction of each real edge (MRREL stores both).
    rel, n = [], 0
    for raw in (cumulus / "MRREL.RRF").read_text(encoding="utf-8").splitlines():
        f = raw.split("|")[:-1]
        f = f + [""] * (16 - len(f))
        rel.append(rrf(f))
        n += 1
        if f[3] == "CHD":
            inv = [
                f[4],
                f[5],
                f[6],
                "PAR",
                f[0],
                f[1],
                f[2],
                f[7],
                f"R9{n:07d}",
                "",
                f[10],
                f[11],
                f[12],
                f[13],
                f[14],
                "",
            ]
            rel.append(rrf(inv))
    for i, (c1, r, c2, rela, sab, sup) in enumerate(RELS):
        rel.append(rrf([c1, "", "CUI", r, c2, "", "CUI", rela, f"R8{2 * i:07d}", "", sab, sab, "", "", sup, ""]))
        rel.append(
            rrf(
                [
                    c2,
                    "",
                    "CUI",
                    INVERSE[r],
                    c1,
                    "",
                    "CUI",
                    INVERSE[rela],
                    f"R8{2 * i + 1:07d}",
                    "",
                    sab,
                    sab,
                    "",
                    "",
                    sup,
                    "",
                ]
            )
        )
    rel.append(
        rrf(
            [
                "C0006840",
                "A9000001",
                "AUI",
                "SY",
                "C0006840",
                "A9000003",
                "AUI",
                "",
                "R8999999",
                "",
                "MSH",
                "MSH",
                "",
                "",
                "N",
                "",
            ]
        )
    )  # a self-relation between two atoms of one concept: not an edge
    lines["MRREL"] = rel
    sty = []
    for cui in sorted(set(cuis)):
        tui, stn, name = ORGANISM_TYPES.get(cui, STY_DISEASE)
        sty.append(rrf([cui, tui, stn, name, f"AT8{len(sty):07d}", ""]))
    lines["MRSTY"] = sty
    lines["MRDEF"] = [rrf([c, a, at, "", sab, d, sup, ""]) for c, a, at, sab, d, sup in DEFS]
    lines["MRSAB"] = [rrf(r) for r in MRSAB]
    lines["MRRANK"] = [rrf(r) for r in MRRANK]
    lines["MRDOC"] = [rrf(r) for r in MRDOC]
    fmt = {
        "MRCONSO": "CUI,LAT,TS,LUI,STT,SUI,ISPREF,AUI,SAUI,SCUI,SDUI,SAB,TTY,CODE,STR,SRL,SUPPRESS,CVF",
        "MRREL": "CUI1,AUI1,STYPE1,REL,CUI2,AUI2,STYPE2,RELA,RUI,SRUI,SAB,SL,RG,DIR,SUPPRESS,CVF",
        "MRSTY": "CUI,TUI,STN,STY,ATUI,CVF",
        "MRDEF": "CUI,AUI,ATUI,SATUI,SAB,DEF,SUPPRESS,CVF",
        "MRSAB": "VCUI,RCUI,VSAB,RSAB,SON,SF,SVER,VSTART,VEND,IMETA,RMETA,SLC,SCC,SRL,TFR,CFR,CXTY,TTYL,ATNL,LAT,CENC,"
        "CURVER,SABIN,SSN,SCIT",
        "MRRANK": "RANK,SAB,TTY,SUPPRESS",
        "MRDOC": "DOCKEY,VALUE,TYPE,EXPL",
    }
    files = []
    for name, rows in lines.items():
        data = "".join(rows).encode("utf-8")
        (OUT / f"{name}.RRF").write_bytes(data)
        files.append(
            rrf([f"{name}.RRF", f"{name} (kgbuild sample)", fmt[name], fmt[name].count(",") + 1, len(rows), len(data)])
        )
    (OUT / "MRFILES.RRF").write_text("".join(files), encoding="utf-8")


if __name__ == "__main__":
    build(Path(sys.argv[1]))
