//! Counting tests across runners, from each runner's own summary lines.

#[derive(Default)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
    failures: Vec<String>,
}

/// Passed and failed counts from one runner.
#[derive(Debug, Default, PartialEq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
}

impl Tally {
    /// A step that is one check (format, clippy, a build).
    pub fn check(&mut self, name: &str, ok: bool) {
        self.add(name, Counts { passed: ok as u64, failed: !ok as u64 }, ok);
    }

    /// A runner's counts; a runner that failed without reporting a failure counts one.
    pub fn add(&mut self, name: &str, mut counts: Counts, ok: bool) {
        if !ok && counts.failed == 0 {
            counts.failed = 1;
        }
        if counts.failed > 0 {
            self.failures.push(format!("{name}: {} failed", counts.failed));
        }
        self.passed += counts.passed;
        self.failed += counts.failed;
    }

    pub fn report(&self) {
        for f in &self.failures {
            println!("FAILED {f}");
        }
        println!("{} passed, {} failed", self.passed, self.failed);
    }
}

/// The number just before `word` in `line` (e.g. `12 passed`).
fn number_before(line: &str, word: &str) -> u64 {
    let words: Vec<&str> =
        line.split(|c: char| c.is_whitespace() || c == ',' || c == ';').filter(|w| !w.is_empty()).collect();
    words
        .windows(2)
        .filter(|w| w[1].trim_end_matches(['.', ':']) == word)
        .filter_map(|w| w[0].parse::<u64>().ok())
        .sum()
}

/// Sums cargo's `test result: ok. 12 passed; 0 failed; ...` lines.
pub fn from_cargo(text: &str) -> Counts {
    text.lines().filter(|l| l.starts_with("test result:")).fold(Counts::default(), |acc, l| Counts {
        passed: acc.passed + number_before(l, "passed"),
        failed: acc.failed + number_before(l, "failed"),
    })
}

/// pytest's last line: `5 passed, 1 failed, 2 errors in 0.3s`.
pub fn from_pytest(text: &str) -> Counts {
    let last = text
        .lines()
        .rev()
        .find(|l| l.contains(" passed") || l.contains(" failed") || l.contains(" error"))
        .unwrap_or("");
    Counts {
        passed: number_before(last, "passed"),
        failed: number_before(last, "failed") + number_before(last, "error") + number_before(last, "errors"),
    }
}

/// Surefire's overall summary: the last `Tests run: N, Failures: F, Errors: E, Skipped: S`
/// line that is not about one class (`-- in X`).
pub fn from_surefire(text: &str) -> Counts {
    let clean = strip_ansi(text);
    let Some(line) = clean.lines().rev().find(|l| l.contains("Tests run:") && !l.contains(" in ")) else {
        return Counts::default();
    };
    let field = |name: &str| {
        line.split(',')
            .find_map(|part| part.split_once(name).and_then(|(_, n)| n.trim().parse::<u64>().ok()))
            .unwrap_or(0)
    };
    let run = field("Tests run:");
    let failed = field("Failures:") + field("Errors:");
    let skipped = field("Skipped:");
    Counts { passed: run.saturating_sub(failed + skipped), failed }
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_runner() {
        let cargo = "test result: ok. 12 passed; 0 failed; 0 ignored\nnoise\ntest result: FAILED. 3 passed; 2 failed; 0 ignored";
        assert_eq!(from_cargo(cargo), Counts { passed: 15, failed: 2 });
        assert_eq!(from_pytest("....F\n4 passed, 1 failed in 0.3s"), Counts { passed: 4, failed: 1 });
        assert_eq!(from_pytest("5 passed in 0.1s"), Counts { passed: 5, failed: 0 });
        assert_eq!(from_pytest("1 passed, 2 errors in 1s"), Counts { passed: 1, failed: 2 });
        let surefire = "[INFO] Tests run: 2, Failures: 0, Errors: 0, Skipped: 0, Time elapsed: 0.3 s -- in A\n\u{1b}[0m[ERROR] Tests run: 5, Failures: 1, Errors: 1, Skipped: 1";
        assert_eq!(from_surefire(surefire), Counts { passed: 2, failed: 2 });
    }

    #[test]
    fn a_failed_runner_without_counts_still_fails() {
        let mut t = Tally::default();
        t.add("x", Counts::default(), false);
        assert_eq!((t.passed, t.failed), (0, 1));
    }
}
