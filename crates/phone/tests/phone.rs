//! The crate through its public API: the cases of `fixtures/numbers.txt`, round trips through
//! every form a number is written back in, and the grouping and masking rules.

use hotline_phone::{
    normalize, NumberContext, NumberKind, PhoneError, PhoneNumber, MAX_EXTENSION_DIGITS,
    MAX_INPUT_LEN,
};

/// One line of `fixtures/numbers.txt`.
struct Case {
    line: usize,
    input: String,
    expected: String,
    context: NumberContext,
}

/// Reads the fixture: `input<TAB>expected[<TAB>context]`, `#` comments and blank lines.
fn cases() -> Vec<Case> {
    include_str!("fixtures/numbers.txt")
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|(index, line)| {
            let line_number = index + 1;
            let mut fields = line.split('\t');
            let input = unescape(fields.next().unwrap_or_default());
            let expected = fields
                .next()
                .unwrap_or_else(|| panic!("line {line_number}: no tab before the expectation"))
                .to_owned();
            let context = context(line_number, fields.next().unwrap_or_default());
            assert!(fields.next().is_none(), "line {line_number}: too many tabs");
            Case {
                line: line_number,
                input,
                expected,
                context,
            }
        })
        .collect()
}

/// `area=755 country=44` as a context.
fn context(line: usize, settings: &str) -> NumberContext {
    let mut context = NumberContext::default();
    for setting in settings.split_whitespace() {
        match setting.split_once('=') {
            Some(("area", area_code)) => context.area_code = Some(area_code.to_owned()),
            Some(("country", code)) => {
                context.country_code = code
                    .parse()
                    .unwrap_or_else(|_| panic!("line {line}: bad country {code:?}"))
            }
            _ => panic!("line {line}: unknown setting {setting:?}"),
        }
    }
    context
}

/// The input with each `\u{XXXX}` replaced by its character.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("\\u{") {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find('}').expect("a closed \\u{…}");
        let code = u32::from_str_radix(&rest[start + 3..end], 16).expect("hex in \\u{…}");
        out.push(char::from_u32(code).expect("a character in \\u{…}"));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// What a result looks like in the fixture's terms.
fn describe(result: &Result<PhoneNumber, PhoneError>) -> String {
    match result {
        Ok(number) => format!("{number} {:?} {}", number.kind(), number.masked()),
        Err(error) => format!("error: {error}"),
    }
}

fn matches(expected: &str, result: &Result<PhoneNumber, PhoneError>) -> bool {
    match (expected.strip_prefix("error: "), result) {
        (Some(text), Err(error)) => error.to_string().contains(text),
        (None, Ok(_)) => describe(result) == expected,
        _ => false,
    }
}

#[test]
fn check() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let result = normalize(&case.input, &case.context);
            (!matches(&case.expected, &result)).then(|| {
                format!(
                    "  line {}: {:?}\n    expected {}\n    got      {}",
                    case.line,
                    case.input,
                    case.expected,
                    describe(&result)
                )
            })
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} cases in fixtures/numbers.txt failed:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

/// Every number of the fixture reads back as itself from each form it is written in.
#[test]
fn every_written_form_reads_back_as_the_same_number() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for case in cases() {
        let Ok(number) = normalize(&case.input, &case.context) else {
            continue;
        };
        checked += 1;
        let forms = [
            ("display", number.display(), number.extension()),
            ("to_string", number.to_string(), number.extension()),
            ("e164", number.e164().to_owned(), None),
            ("national", number.national(), None),
        ];
        for (name, text, extension) in forms {
            // A written form must not need the context that the input needed.
            let read = normalize(&text, &NumberContext::default());
            let same = read.as_ref().is_ok_and(|read| {
                read.e164() == number.e164()
                    && read.kind() == number.kind()
                    && read.extension() == extension
            });
            if !same {
                wrong.push(format!(
                    "  line {}: {name} {text:?} of {:?} reads as {}",
                    case.line,
                    case.input,
                    describe(&read)
                ));
            }
        }
    }
    assert!(checked >= 60, "only {checked} numbers");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A small deterministic generator (64-bit LCG), so that a failure names its seed.
struct Digits(u64);

impl Digits {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }

    fn digits(&mut self, count: usize) -> String {
        (0..count)
            .map(|_| char::from(b'0' + self.next(10) as u8))
            .collect()
    }
}

#[test]
fn generated_mobiles_read_the_same_in_every_form() {
    let mut digits = Digits(7);
    for _ in 0..2000 {
        let second = char::from(b'3' + digits.next(7) as u8);
        let mobile = format!("1{second}{}", digits.digits(9));
        let e164 = format!("+86{mobile}");
        let forms = [
            mobile.clone(),
            e164.clone(),
            format!("0086{mobile}"),
            format!("86{mobile}"),
            format!("0{mobile}"),
            format!("{}-{}-{}", &mobile[..3], &mobile[3..7], &mobile[7..]),
            format!("+86 ({}) {} {}", &mobile[..3], &mobile[3..7], &mobile[7..]),
            format!("sip:{e164}@carrier"),
            format!("17951{mobile}"),
            mobile.chars().map(full_width).collect(),
        ];
        for form in forms {
            let number = normalize(&form, &NumberContext::default())
                .unwrap_or_else(|e| panic!("{form:?}: {e}"));
            assert_eq!(number.e164(), e164, "{form:?}");
            assert_eq!(number.kind(), NumberKind::Mobile, "{form:?}");
            assert_eq!(number.national(), mobile, "{form:?}");
            assert_eq!(
                number.masked(),
                format!("{}****{}", &mobile[..3], &mobile[7..]),
                "{form:?}"
            );
            assert_eq!(
                normalize(&number.display(), &NumberContext::default()),
                Ok(number)
            );
        }
    }
}

#[test]
fn generated_landlines_read_the_same_in_every_form() {
    let mut digits = Digits(11);
    for _ in 0..2000 {
        let area_code = match digits.next(3) {
            0 => "10".to_owned(),
            1 => format!("2{}", [0, 1, 2, 3, 4, 5, 7, 8, 9][digits.next(9) as usize]),
            _ => format!("{}{}", 3 + digits.next(7), digits.digits(2)),
        };
        if area_code == "400" || area_code == "800" {
            continue;
        }
        let subscriber_len = if area_code.len() == 3 && digits.next(2) == 0 {
            7
        } else {
            8
        };
        let subscriber = format!(
            "{}{}",
            2 + digits.next(8),
            digits.digits(subscriber_len - 1)
        );
        let e164 = format!("+86{area_code}{subscriber}");
        let forms = [
            format!("0{area_code}{subscriber}"),
            format!("0{area_code}-{subscriber}"),
            format!("(0{area_code}) {subscriber}"),
            format!("+86 {area_code} {subscriber}"),
            format!("+86 (0){area_code} {subscriber}"),
            format!("tel:+86-{area_code}-{subscriber}"),
            e164.clone(),
        ];
        for form in forms {
            let number = normalize(&form, &NumberContext::default())
                .unwrap_or_else(|e| panic!("{form:?}: {e}"));
            assert_eq!(number.e164(), e164, "{form:?}");
            assert_eq!(number.kind(), NumberKind::Landline, "{form:?}");
            assert_eq!(number.national(), format!("0{area_code}{subscriber}"));
        }
        let local = normalize(&subscriber, &NumberContext::with_area_code(&area_code))
            .unwrap_or_else(|e| panic!("{subscriber:?} in {area_code}: {e}"));
        assert_eq!(local.e164(), e164);
    }
}

fn full_width(c: char) -> char {
    char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c)
}

fn number(text: &str) -> PhoneNumber {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn display_groups_each_kind_its_own_way() {
    let cases = [
        ("13800138000", "138 0013 8000"),
        ("01012345678", "010-1234 5678"),
        ("075512345678", "0755-1234 5678"),
        ("05718765432", "0571-876 5432"),
        ("4008001234", "400-800-1234"),
        ("95588", "95588"),
        ("+442079460958", "+44 20 7946 0958"),
        ("+12125550100", "+1 212 555 0100"),
        ("+85223456789", "+852 2345 6789"),
        ("+886912345678", "+886 9 1234 5678"),
        ("+6834002", "+683 4002"),
        ("010-12345678 ext 8001", "010-1234 5678 转 8001"),
    ];
    for (input, expected) in cases {
        assert_eq!(number(input).display(), expected, "{input}");
    }
}

#[test]
fn masking_hides_the_middle_and_keeps_what_an_agent_recognises() {
    let cases = [
        ("13800138000", "138****8000"),
        ("01012345678", "010-****5678"),
        ("05718765432", "0571-***5432"),
        ("4008001234", "400***1234"),
        // Service numbers are public: shown whole.
        ("110", "110"),
        ("95588", "95588"),
        ("+442079460958", "+44 ******0958"),
        // Four digits after the country code: half are hidden.
        ("+6834002", "+683 **02"),
        ("13800138000转8001", "138****8000 转 8001"),
    ];
    for (input, expected) in cases {
        let masked = number(input).masked();
        assert_eq!(masked, expected, "{input}");
        // The hidden digits are gone: the masked form is not the number.
        assert!(
            normalize(&masked, &NumberContext::default()).is_err() || masked == input,
            "{input}: {masked} still reads as a number"
        );
    }
}

#[test]
fn the_lookup_key_ignores_the_form_and_the_extension() {
    let plain = number("010-12345678");
    let with_extension = number("+86 10 1234 5678 转 8001");
    assert_eq!(plain.e164(), with_extension.e164());
    assert_ne!(plain, with_extension);
    assert_eq!(with_extension.extension(), Some("8001"));
    assert_eq!(plain.extension(), None);
    assert_eq!(with_extension.to_string(), "+861012345678;ext=8001");
}

#[test]
fn limits_are_where_the_constants_say() {
    let longest = format!("13800138000{}", " ".repeat(MAX_INPUT_LEN - 11));
    assert!(normalize(&longest, &NumberContext::default()).is_ok());
    let too_long = format!("{longest} ");
    assert_eq!(
        normalize(&too_long, &NumberContext::default()),
        Err(PhoneError::TooLong { max: MAX_INPUT_LEN })
    );

    let longest_extension = format!("01012345678 转 {}", "1".repeat(MAX_EXTENSION_DIGITS));
    assert!(normalize(&longest_extension, &NumberContext::default()).is_ok());
    assert!(matches!(
        normalize(&format!("{longest_extension}1"), &NumberContext::default()),
        Err(PhoneError::ExtensionTooLong { .. })
    ));
}

#[test]
fn errors_say_where_the_fault_is() {
    assert_eq!(
        normalize("138 0013 800O", &NumberContext::default()),
        Err(PhoneError::InvalidCharacter {
            ch: 'O',
            position: 13
        })
    );
    assert_eq!(
        normalize("+86 +13800138000", &NumberContext::default()),
        Err(PhoneError::MisplacedPlus { position: 5 })
    );
    assert_eq!(
        normalize("62345678", &NumberContext::default()),
        Err(PhoneError::NeedsAreaCode {
            digits: "62345678".to_owned()
        })
    );
}

/// Random strings of the characters the reader cares about: nothing panics, and whatever is
/// accepted reads back as itself from its written forms.
#[test]
fn random_inputs_never_panic_and_accepted_ones_read_back() {
    const ALPHABET: [&str; 33] = [
        "0", "1", "2", "3", "5", "7", "8", "9", "86", "+", " ", "-", "(", ")", "(0)", "转", "x",
        "ext", "#", ",", "tel:", "sip:", "@h", "138", "0013", "8000", "010", "0755", "400",
        "95588", "1234", "5678", "44",
    ];
    let mut random = Digits(3);
    let mut accepted = 0;
    for _ in 0..50_000 {
        let len = random.next(16) as usize;
        let input: String = (0..len)
            .map(|_| ALPHABET[random.next(ALPHABET.len() as u64) as usize])
            .collect();
        let Ok(number) = normalize(&input, &NumberContext::with_area_code("755")) else {
            continue;
        };
        accepted += 1;
        for text in [number.display(), number.to_string()] {
            assert_eq!(
                normalize(&text, &NumberContext::default()).as_ref(),
                Ok(&number),
                "{input:?} written as {text:?}"
            );
        }
        let by_key = normalize(number.e164(), &NumberContext::default())
            .unwrap_or_else(|e| panic!("{input:?}: its key {}: {e}", number.e164()));
        assert_eq!(by_key.e164(), number.e164(), "{input:?}");
    }
    assert!(
        accepted > 1000,
        "only {accepted} random inputs were numbers"
    );
}
