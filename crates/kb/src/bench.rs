//! The search benchmark: a synthetic knowledge base of any size, built on disk and queried.
//!
//! [`bench_search`] is for `hotline bench kb`; `cargo run --release -p hotline-kb
//! --example bench_search -- 100000` runs it alone. The articles are generated from a seed: half
//! Chinese, half English, words drawn from built-in lists of customer-service vocabulary with a
//! Zipf distribution (a few words are in most articles, most words in few), bodies of 200 to 400
//! words (English) or characters (Chinese). Queries are 1 to 4 words drawn the same way, so
//! common words, the costly ones, come up as often as in the articles.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{load_segmenter, ArticleDoc, ArticleIndex, KbError, Language, Query};

/// The most articles [`bench_search`] generates (about 2.5 GB of text).
pub const BENCH_MAX_ARTICLES: usize = 1_000_000;

/// The most queries [`bench_search`] runs.
pub const BENCH_MAX_QUERIES: usize = 1_000_000;

/// What [`bench_search`] measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchReport {
    /// Articles indexed.
    pub articles: usize,
    /// Searches run.
    pub queries: usize,
    /// Loading the Chinese dictionary; zero when this process had loaded it before.
    pub segmenter_load: Duration,
    /// Staging every article and committing: the time a rebuild takes.
    pub build: Duration,
    /// Waiting for the segment merges the commit started, then opening the index again (as a
    /// restarted server would).
    pub merge_and_reopen: Duration,
    /// The index files on disk after the merges, in bytes.
    pub index_bytes: u64,
    /// Median search latency, microseconds; a search includes loading the hits and their
    /// snippets.
    pub p50_us: u64,
    /// 99th percentile search latency, microseconds.
    pub p99_us: u64,
    /// Slowest search, microseconds.
    pub max_us: u64,
    /// Hits returned over all searches (each asks for [`DEFAULT_LIMIT`](crate::DEFAULT_LIMIT)).
    pub hits: usize,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "knowledge base: {} articles, {} searches",
            self.articles, self.queries
        )?;
        writeln!(
            f,
            "  dictionary load  {:.1} ms",
            self.segmenter_load.as_secs_f64() * 1e3
        )?;
        writeln!(f, "  build + commit   {:.1} s", self.build.as_secs_f64())?;
        writeln!(
            f,
            "  merge + reopen   {:.1} s",
            self.merge_and_reopen.as_secs_f64()
        )?;
        writeln!(
            f,
            "  index size       {:.1} MiB",
            self.index_bytes as f64 / (1024.0 * 1024.0)
        )?;
        writeln!(
            f,
            "  search latency   p50 {} µs, p99 {} µs, max {} µs",
            self.p50_us, self.p99_us, self.max_us
        )?;
        write!(
            f,
            "  hits per search  {:.1}",
            self.hits as f64 / self.queries.max(1) as f64
        )
    }
}

/// Generates `articles` articles from `seed`, indexes them in a fresh directory under the
/// system's temporary directory (removed afterwards), runs `queries` searches of 1 to 4 words
/// and reports the times and the index size. Both counts are capped at [`BENCH_MAX_ARTICLES`]
/// and [`BENCH_MAX_QUERIES`].
pub fn bench_search(articles: usize, queries: usize, seed: u64) -> Result<BenchReport, KbError> {
    let articles = articles.min(BENCH_MAX_ARTICLES);
    let queries = queries.min(BENCH_MAX_QUERIES);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let directory = TempDirectory(
        std::env::temp_dir().join(format!("hotline-kb-bench-{}-{nanos}", std::process::id())),
    );

    let segmenter_load = load_segmenter_if_new();
    let mut generator = Generator::new(seed);
    let started = Instant::now();
    let index = ArticleIndex::open_in_dir(&directory.0)?;
    for id in 0..articles {
        index.upsert(&generator.article(id as i64))?;
    }
    index.commit()?;
    let build = started.elapsed();

    let started = Instant::now();
    index.close_after_merges()?;
    let index = ArticleIndex::open_in_dir(&directory.0)?;
    let merge_and_reopen = started.elapsed();
    let index_bytes = directory_bytes(&directory.0);

    let mut latencies_us = Vec::with_capacity(queries);
    let mut hits = 0;
    for _ in 0..queries {
        let query = Query::new(generator.query_text());
        let started = Instant::now();
        let found = index.search(&query)?;
        latencies_us.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        hits += found.len();
    }
    latencies_us.sort_unstable();
    Ok(BenchReport {
        articles,
        queries,
        segmenter_load,
        build,
        merge_and_reopen,
        index_bytes,
        p50_us: percentile(&latencies_us, 0.50),
        p99_us: percentile(&latencies_us, 0.99),
        max_us: latencies_us.last().copied().unwrap_or(0),
        hits,
    })
}

/// The dictionary's load time if this call loaded it, zero if it was loaded already.
fn load_segmenter_if_new() -> Duration {
    let started = Instant::now();
    let took = load_segmenter();
    // Loaded before: the call returned at once with the old figure.
    if started.elapsed() < took {
        Duration::ZERO
    } else {
        took
    }
}

/// The value at quantile `q` of sorted `values` (nearest rank), or 0 for none.
fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The total size of the files in `directory` (not recursive: an index has no subdirectories).
fn directory_bytes(directory: &Path) -> u64 {
    std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| entry.metadata().ok())
                .filter(|metadata| metadata.is_file())
                .map(|metadata| metadata.len())
                .sum()
        })
        .unwrap_or(0)
}

/// A directory removed, with what is in it, when dropped.
struct TempDirectory(PathBuf);

impl Drop for TempDirectory {
    fn drop(&mut self) {
        // Best effort: a benchmark that cannot clean up still reports its figures.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// SplitMix64: small, fast, and the same sequence for a seed on every machine.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Heads or tails.
    fn coin(&mut self) -> bool {
        self.next_u64() >> 63 == 0
    }

    /// Uniform in `low..=high`.
    fn between(&mut self, low: usize, high: usize) -> usize {
        low + (self.next_u64() % (high - low + 1) as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A word list with Zipf weights (the word of rank r is drawn in proportion to 1/r).
struct Vocabulary {
    words: &'static [&'static str],
    cumulative: Vec<f64>,
}

impl Vocabulary {
    fn new(words: &'static [&'static str]) -> Vocabulary {
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Vocabulary { words, cumulative }
    }

    fn draw(&self, rng: &mut Rng) -> &'static str {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let target = rng.unit() * total;
        let rank = self.cumulative.partition_point(|&c| c <= target);
        self.words[rank.min(self.words.len() - 1)]
    }
}

/// Generates articles and queries from a seed.
struct Generator {
    rng: Rng,
    chinese: Vocabulary,
    english: Vocabulary,
}

impl Generator {
    fn new(seed: u64) -> Generator {
        Generator {
            rng: Rng(seed),
            chinese: Vocabulary::new(CHINESE_WORDS),
            english: Vocabulary::new(ENGLISH_WORDS),
        }
    }

    fn article(&mut self, id: i64) -> ArticleDoc {
        let language = if self.rng.coin() {
            Language::Zh
        } else {
            Language::En
        };
        let title_words = self.rng.between(3, 8);
        let body_length = self.rng.between(200, 400);
        let (title, body) = match language {
            Language::Zh => (
                self.chinese_text(title_words * 2, false),
                self.chinese_text(body_length, true),
            ),
            Language::En => (
                self.english_text(title_words, false),
                self.english_text(body_length, true),
            ),
        };
        let tag_words = match language {
            Language::Zh => &self.chinese,
            Language::En => &self.english,
        };
        let tags = (0..self.rng.between(1, 4))
            .map(|_| tag_words.draw(&mut self.rng).to_owned())
            .collect();
        ArticleDoc {
            id,
            title,
            body,
            category: CATEGORIES[self.rng.between(0, CATEGORIES.len() - 1)].to_owned(),
            tags,
            language,
            quick_reply: self.rng.between(0, 19) == 0,
            published: self.rng.between(0, 19) != 0,
        }
    }

    /// At least `chars` characters of Chinese words, with commas and full stops if `sentences`.
    fn chinese_text(&mut self, chars: usize, sentences: bool) -> String {
        let mut text = String::new();
        let mut count = 0;
        let mut since_mark = 0;
        while count < chars {
            let word = self.chinese.draw(&mut self.rng);
            text.push_str(word);
            count += word.chars().count();
            since_mark += 1;
            if sentences && since_mark >= self.rng.between(4, 9) {
                text.push(if self.rng.between(0, 2) == 0 {
                    '。'
                } else {
                    '，'
                });
                count += 1;
                since_mark = 0;
            }
        }
        if sentences {
            text.push('。');
        }
        text
    }

    /// `words` English words, in sentences if `sentences`.
    fn english_text(&mut self, words: usize, sentences: bool) -> String {
        let mut text = String::new();
        let mut since_mark = 0;
        for index in 0..words {
            if index > 0 {
                text.push(' ');
            }
            text.push_str(self.english.draw(&mut self.rng));
            since_mark += 1;
            if sentences && since_mark >= self.rng.between(6, 14) {
                text.push('.');
                since_mark = 0;
            }
        }
        if sentences {
            text.push('.');
        }
        text
    }

    /// 1 to 4 words of one language, as a customer would type them.
    fn query_text(&mut self) -> String {
        let words = self.rng.between(1, 4);
        let (vocabulary, separator) = if self.rng.coin() {
            (&self.chinese, "")
        } else {
            (&self.english, " ")
        };
        (0..words)
            .map(|_| vocabulary.draw(&mut self.rng))
            .collect::<Vec<_>>()
            .join(separator)
    }
}

#[rustfmt::skip] // a word list, kept dense
const CATEGORIES: &[&str] = &[
    "银行卡", "退款", "物流", "售后维修", "发票", "账户", "通信", "保险", "cards", "refunds",
    "delivery", "repair", "invoices", "account", "telecom", "insurance",
];

/// Customer-service vocabulary, most frequent first (the order sets the Zipf ranks).
#[rustfmt::skip] // a word list, kept dense
const ENGLISH_WORDS: &[&str] = &[
    "account", "card", "order", "customer", "service", "payment", "refund", "days", "number",
    "support", "request", "call", "please", "time", "information", "phone", "check", "bank",
    "delivery", "change", "contact", "online", "business", "policy", "charge", "agent", "team",
    "email", "address", "product", "issue", "problem", "help", "new", "receive", "update",
    "detail", "available", "cancel", "process", "return", "within", "form", "verify", "confirm",
    "app", "website", "code", "password", "login", "balance", "transfer", "fee", "bill", "invoice",
    "tax", "company", "claim", "insurance", "policyholder", "document", "upload", "photo",
    "receipt", "purchase", "price", "discount", "coupon", "voucher", "credit", "debit", "limit",
    "statement", "installment", "interest", "rate", "annual", "monthly", "weekly", "daily", "hour",
    "minute", "weekend", "holiday", "office", "branch", "counter", "courier", "parcel", "package",
    "shipment", "tracking", "warehouse", "dispatch", "carrier", "delay", "late", "lost", "damaged",
    "missing", "wrong", "item", "size", "color", "exchange", "replacement", "repair", "technician",
    "visit", "appointment", "schedule", "warranty", "guarantee", "coverage", "expire", "extend",
    "register", "serial", "model", "device", "appliance", "washer", "dryer", "refrigerator",
    "fridge", "freezer", "oven", "microwave", "dishwasher", "air", "conditioner", "heater",
    "boiler", "television", "laptop", "tablet", "battery", "screen", "power", "cable", "plug",
    "socket", "switch", "light", "noise", "leak", "water", "filter", "error", "display", "reset",
    "restart", "install", "network", "router", "broadband", "wifi", "signal", "mobile", "plan",
    "data", "roaming", "abroad", "travel", "country", "international", "local", "sim", "activate",
    "suspend", "unlock", "block", "freeze", "fraud", "stolen", "dispute", "chargeback",
    "unauthorized", "transaction", "merchant", "decline", "approve", "pending", "complete",
    "failed", "successful", "status", "progress", "ticket", "case", "reference", "follow",
    "callback", "survey", "feedback", "complaint", "escalate", "supervisor", "manager", "resolve",
    "solution", "answer", "question", "faq", "guide", "step", "instruction", "option", "setting",
    "profile", "identity", "id", "passport", "license", "signature", "authorize", "consent",
    "privacy", "security", "otp", "sms", "message", "notification", "alert", "reminder",
    "deadline", "overdue", "penalty", "waive", "adjust", "correct", "amend", "duplicate", "copy",
    "original", "electronic", "paper", "print", "download", "pdf", "title", "header", "vat",
    "registration", "certificate", "proof", "evidence", "report", "police", "accident", "vehicle",
    "car", "driver", "hospital", "medical", "doctor", "treatment", "prescription", "reimburse",
    "reimbursement", "deductible", "premium", "renewal", "cancelation", "cooling", "period",
    "beneficiary", "family", "member", "child", "elderly", "senior", "student", "loyalty",
    "points", "reward", "redeem", "gift", "promotion", "offer", "campaign", "subscription",
    "renew", "upgrade", "downgrade", "contract", "term", "condition", "agreement", "clause",
    "notice", "cancelled", "refunded", "returned", "delivered", "shipped", "ordered", "charged",
    "billed", "paid", "unpaid", "owed", "credited", "debited", "transferred", "blocked", "locked",
    "forgot", "forgotten", "changed", "updated", "verified", "confirmed", "received", "broken",
    "cracked", "scratched", "faulty", "defective", "noisy", "slow", "fast", "urgent", "priority",
    "standard", "express", "free", "extra", "additional", "total", "partial", "full", "amount",
    "currency", "yuan", "dollar", "cash", "wallet", "alipay", "wechat", "unionpay", "visa",
    "mastercard", "atm", "pin", "cvv", "expiry", "chip", "contactless", "offline", "store", "shop",
    "mall",
];

/// Chinese customer-service vocabulary, most frequent first.
#[rustfmt::skip] // a word list, kept dense
const CHINESE_WORDS: &[&str] = &[
    "客户", "服务", "订单", "账户", "办理", "需要", "信息", "电话", "银行卡", "支付", "退款",
    "申请", "提供", "时间", "工作日", "联系", "客服", "处理", "问题", "查询", "确认", "手机",
    "短信", "验证码", "身份证", "资料", "提交", "审核", "结果", "通知", "快递", "物流", "配送",
    "包裹", "签收", "地址", "修改", "取消", "退货", "换货", "商品", "质量", "售后", "维修", "保修",
    "上门", "师傅", "预约", "费用", "收费", "免费", "发票", "开票", "抬头", "税号", "电子", "纸质",
    "邮寄", "密码", "登录", "重置", "找回", "绑定", "解绑", "冻结", "解冻", "注销", "安全", "风险",
    "信用卡", "借记卡", "挂失", "补卡", "额度", "账单", "还款", "分期", "利息", "手续费", "年费",
    "积分", "兑换", "优惠", "活动", "会员", "权益", "套餐", "流量", "话费", "余额", "充值", "扣费",
    "漫游", "国际", "境外", "出国", "开通", "关闭", "宽带", "网络", "信号", "故障", "报修", "断网",
    "路由器", "光猫", "重启", "设置", "空调", "冰箱", "洗衣机", "热水器", "电视", "燃气灶",
    "油烟机", "不制冷", "漏水", "异响", "显示", "代码", "报错", "电源", "插头", "遥控器", "滤网",
    "清洗", "保养", "配件", "更换", "型号", "序列号", "购买", "凭证", "日期", "延保", "期限",
    "范围", "人为", "损坏", "保险", "理赔", "报案", "车险", "事故", "现场", "照片", "医疗", "住院",
    "门诊", "发票原件", "病历", "诊断", "证明", "材料", "赔付", "金额", "比例", "免赔额", "保单",
    "保费", "续保", "退保", "犹豫期", "受益人", "被保险人", "投保人", "核保", "健康", "告知",
    "意外", "旅行", "航班", "延误", "行李", "丢失", "被盗", "盗刷", "争议", "交易", "商户", "拒绝",
    "失败", "成功", "到账", "原路", "退回", "进度", "工单", "编号", "回访", "满意度", "评价",
    "投诉", "建议", "升级", "主管", "经理", "解决", "方案", "答复", "常见", "指引", "步骤", "操作",
    "页面", "入口", "点击", "选择", "填写", "上传", "下载", "打印", "扫码", "二维码", "微信",
    "支付宝", "银联", "网银", "柜台", "网点", "营业厅", "门店", "营业时间", "节假日", "周末",
    "夜间", "紧急", "加急", "普通", "标准", "特快", "运费", "包邮", "补偿", "赔偿", "优惠券",
    "红包", "返现", "价格", "差价", "保价", "降价", "库存", "缺货", "预售", "发货", "揽收", "中转",
    "派送", "快递员", "驿站", "自提", "代收", "拒收", "破损", "少件", "错发", "漏发", "核实",
    "登记", "备注", "说明", "规定", "政策", "条款", "协议", "合同", "逾期", "违约金", "罚息",
    "减免", "调整", "变更", "更正", "作废", "重开", "红字", "专票", "普票", "增值税", "企业",
    "个人", "单位", "纳税人", "识别号", "开户行", "账号", "名称", "老人", "子女", "家属", "代办",
    "委托书", "授权", "本人", "实名", "认证", "人脸", "识别", "指纹", "设备", "更换手机", "号码",
    "携号转网", "停机", "复机", "欠费", "缴费", "月租", "合约", "违约", "终端", "补贴", "宽带费",
    "提速", "带宽", "测速", "掉线",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_articles_and_queries() {
        let mut first = Generator::new(7);
        let mut second = Generator::new(7);
        for id in 0..20 {
            assert_eq!(first.article(id), second.article(id));
            assert_eq!(first.query_text(), second.query_text());
        }
    }

    #[test]
    fn bodies_have_the_promised_length() {
        let mut generator = Generator::new(1);
        for id in 0..50 {
            let article = generator.article(id);
            let length = match article.language {
                Language::Zh => article.body.chars().count(),
                Language::En => article.body.split_whitespace().count(),
            };
            assert!((200..=420).contains(&length), "{length}: {}", article.body);
        }
    }

    #[test]
    fn the_word_lists_hold_each_word_once() {
        for list in [ENGLISH_WORDS, CHINESE_WORDS, CATEGORIES] {
            let mut sorted = list.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), list.len());
        }
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.50), 50);
        assert_eq!(percentile(&values, 0.99), 99);
        assert_eq!(percentile(&[], 0.99), 0);
        assert_eq!(percentile(&[5], 0.01), 5);
    }

    #[test]
    fn a_small_benchmark_runs_and_cleans_up() {
        let report = bench_search(300, 50, 3).expect("benchmark");
        assert_eq!((report.articles, report.queries), (300, 50));
        assert!(report.index_bytes > 0);
        assert!(report.hits > 0);
        assert!(report.p50_us <= report.p99_us && report.p99_us <= report.max_us);
    }
}
