//! Generates `seeds/enterprises.csv`: a deterministic, realistic roster of the
//! town's 3,152 enterprises. `anjian roster generate` writes it; a test checks
//! the committed file is exactly what this code produces.

use std::collections::HashSet;
use std::fmt::Write;

use anjian_domain::CreditCode;

use crate::rng::Rng;
use anjian_domain::credit_code::{ALPHABET, org_code_check};

/// The number of enterprises on the town's roster.
pub const ROSTER_SIZE: usize = 3152;

/// An industry line: the word in names, GB/T 4754 code, and the chance of each tag.
struct Industry {
    word: &'static str,
    code: &'static str,
    weight: usize,
    tags: &'static [(&'static str, f64)],
}

const INDUSTRIES: &[Industry] = &[
    Industry {
        word: "精密机械",
        code: "C3484",
        weight: 14,
        tags: &[("hazardous_waste", 0.4), ("confined_space", 0.05)],
    },
    Industry {
        word: "五金制品",
        code: "C3389",
        weight: 12,
        tags: &[("dust", 0.35), ("hazardous_waste", 0.3)],
    },
    Industry {
        word: "金属表面处理",
        code: "C3360",
        weight: 4,
        tags: &[
            ("hazardous_chemicals", 0.9),
            ("hazardous_waste", 0.95),
            ("phosphorus", 0.45),
            ("confined_space", 0.3),
        ],
    },
    Industry {
        word: "铸造",
        code: "C3391",
        weight: 3,
        tags: &[
            ("foundry", 1.0),
            ("dust", 0.6),
            ("gas", 0.5),
            ("hazardous_waste", 0.4),
        ],
    },
    Industry {
        word: "塑料制品",
        code: "C2929",
        weight: 10,
        tags: &[("vocs", 0.5), ("fire_key_unit", 0.08)],
    },
    Industry {
        word: "化工",
        code: "C2669",
        weight: 3,
        tags: &[
            ("hazardous_chemicals", 1.0),
            ("hazardous_waste", 0.9),
            ("vocs", 0.7),
            ("confined_space", 0.6),
            ("fire_key_unit", 0.4),
        ],
    },
    Industry {
        word: "涂料",
        code: "C2641",
        weight: 2,
        tags: &[
            ("hazardous_chemicals", 1.0),
            ("vocs", 0.95),
            ("hazardous_waste", 0.8),
            ("fire_key_unit", 0.3),
        ],
    },
    Industry {
        word: "印务",
        code: "C2319",
        weight: 5,
        tags: &[
            ("vocs", 0.8),
            ("hazardous_waste", 0.6),
            ("fire_key_unit", 0.1),
        ],
    },
    Industry {
        word: "包装材料",
        code: "C2231",
        weight: 6,
        tags: &[("dust", 0.2), ("fire_key_unit", 0.1)],
    },
    Industry {
        word: "木业",
        code: "C2029",
        weight: 4,
        tags: &[("dust", 0.9), ("vocs", 0.3), ("fire_key_unit", 0.15)],
    },
    Industry {
        word: "家具",
        code: "C2110",
        weight: 4,
        tags: &[("dust", 0.8), ("vocs", 0.7), ("hazardous_waste", 0.4)],
    },
    Industry {
        word: "食品",
        code: "C1499",
        weight: 7,
        tags: &[("gas", 0.7), ("confined_space", 0.35), ("dust", 0.1)],
    },
    Industry {
        word: "电子科技",
        code: "C3982",
        weight: 8,
        tags: &[("hazardous_chemicals", 0.25), ("hazardous_waste", 0.4)],
    },
    Industry {
        word: "汽车配件",
        code: "C3670",
        weight: 7,
        tags: &[("hazardous_waste", 0.6), ("vocs", 0.4), ("dust", 0.2)],
    },
    Industry {
        word: "新型建材",
        code: "C3021",
        weight: 4,
        tags: &[("dust", 0.7), ("confined_space", 0.2)],
    },
    Industry {
        word: "纺织",
        code: "C1751",
        weight: 3,
        tags: &[("dust", 0.3), ("fire_key_unit", 0.2)],
    },
    Industry {
        word: "医药科技",
        code: "C2720",
        weight: 2,
        tags: &[
            ("hazardous_chemicals", 0.8),
            ("hazardous_waste", 0.9),
            ("confined_space", 0.2),
        ],
    },
    Industry {
        word: "物流",
        code: "G5821",
        weight: 9,
        tags: &[("fire_key_unit", 0.12), ("gas", 0.05)],
    },
    Industry {
        word: "仓储",
        code: "G5990",
        weight: 6,
        tags: &[("fire_key_unit", 0.25), ("hazardous_chemicals", 0.05)],
    },
    Industry {
        word: "餐饮管理",
        code: "H6210",
        weight: 10,
        tags: &[("gas", 0.95), ("fire_key_unit", 0.05)],
    },
    Industry {
        word: "酒店管理",
        code: "H6110",
        weight: 3,
        tags: &[
            ("gas", 0.8),
            ("fire_key_unit", 0.6),
            ("confined_space", 0.1),
        ],
    },
    Industry {
        word: "商贸",
        code: "F5199",
        weight: 12,
        tags: &[("fire_key_unit", 0.03)],
    },
    Industry {
        word: "石油销售",
        code: "F5265",
        weight: 1,
        tags: &[("hazardous_chemicals", 1.0), ("fire_key_unit", 1.0)],
    },
    Industry {
        word: "环保科技",
        code: "N7724",
        weight: 2,
        tags: &[("confined_space", 0.8), ("hazardous_waste", 0.5)],
    },
    Industry {
        word: "航空服务",
        code: "G5631",
        weight: 2,
        tags: &[("fire_key_unit", 0.3), ("hazardous_chemicals", 0.2)],
    },
];

const PLACES: &[&str] = &[
    "罗溪", "空港", "新北", "龙城", "汤庄", "王下", "高巷", "邱庄", "窑丼", "罗浮", "奔牛", "春江",
];
const BRANDS: &[&str] = &[
    "华信", "恒达", "瑞丰", "鑫源", "永固", "长江", "宏图", "天诚", "联创", "金鼎", "佳禾", "盛邦",
    "中科", "远航", "嘉诚", "博远", "凯越", "德隆", "汇通", "明泰", "正和", "锦程", "九州", "百川",
    "祥瑞", "润泽", "荣昌", "东方", "新宇", "腾飞", "安达", "合众", "诚信", "海纳", "晨光", "同创",
    "精工", "立信", "鼎盛", "万通", "宁泰", "苏润", "华东", "广源", "国泰", "民丰", "宝隆", "龙腾",
    "春晖", "聚力", "卓越", "和顺", "蓝天", "飞鹏", "航宇", "云帆",
];
const SUFFIXES: &[(&str, usize)] = &[
    ("有限公司", 70),
    ("有限责任公司", 8),
    ("厂", 10),
    ("股份有限公司", 2),
    ("经营部", 10),
];
/// Streets of the synthetic addresses; the first three are named in the
/// town's own work summary, the rest are plausible, not looked up.
const ROADS: &[&str] = &[
    "黄河西路",
    "罗浮山路",
    "罗南路",
    "空港大道",
    "罗溪路",
    "汤庄路",
    "王下路",
    "高巷路",
    "邱庄路",
    "窑丼路",
    "航兴路",
    "机场路",
    "孟河路",
    "东风路",
    "民航路",
    "通港路",
    "长兴路",
    "新桥路",
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "建华", "国强", "志刚", "海燕", "红梅", "晓东", "春生",
    "立新", "文斌", "玉兰", "建国", "小军",
];

/// (code, weight) of the 12 villages and communities in `seeds/villages.yaml`
/// (synthetic codes under 新北区, 320411: the real ones can't be looked up here).
const VILLAGES: &[(&str, usize)] = &[
    ("320411108001", 14),
    ("320411108002", 12),
    ("320411108003", 11),
    ("320411108004", 7),
    ("320411108005", 6),
    ("320411108006", 6),
    ("320411108007", 10),
    ("320411108008", 8),
    ("320411108009", 8),
    ("320411108010", 7),
    ("320411108011", 7),
    ("320411108012", 9),
];
const VILLAGE_NAMES: &[&str] = &[
    "罗溪社区",
    "汤庄村",
    "王下村",
    "高巷村",
    "窑丼村",
    "邱庄村",
    "空港一村",
    "空港二村",
    "空港三村",
    "空港四村",
    "空港五村",
    "空港八村",
];

/// The registration-authority part of the credit codes: 常州市新北区.
const AREA_CODE: &str = "320411";

/// Tags the town counts exactly (its 2021 work summary): 112 enterprises
/// brought under standard hazardous-waste management, 230 key units.
const COUNTED_TAGS: &[(&str, usize)] = &[("hazardous_waste", 112), ("fire_key_unit", 230)];

fn org_code(rng: &mut Rng) -> String {
    // Registrations since 2015 carry organisation codes starting with MA.
    let body: String = if rng.chance(0.6) {
        let mut s = String::from("MA");
        for _ in 0..6 {
            s.push(ALPHABET[rng.below(ALPHABET.len())] as char);
        }
        s
    } else {
        (0..8)
            .map(|_| char::from(b'0' + rng.below(10) as u8))
            .collect()
    };
    let check = org_code_check(body.as_bytes()).unwrap_or('0');
    format!("{body}{check}")
}

/// The CSV text of the roster.
pub fn generate() -> String {
    let mut rng = Rng::new(0x616E_6A69_616E_2026);
    let industry_weights: Vec<(usize, usize)> = INDUSTRIES
        .iter()
        .enumerate()
        .map(|(i, x)| (i, x.weight))
        .collect();
    let village_idx: Vec<(usize, usize)> = VILLAGES
        .iter()
        .enumerate()
        .map(|(i, (_, w))| (i, *w))
        .collect();
    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    let mut rows: Vec<Row> = Vec::with_capacity(ROSTER_SIZE);
    while codes.len() < ROSTER_SIZE {
        let ind = &INDUSTRIES[*rng.weighted(&industry_weights)];
        let suffix = *rng.weighted(SUFFIXES);
        let individual = suffix == "经营部";
        let name = format!(
            "常州{}{}{}{}",
            rng.pick(PLACES),
            rng.pick(BRANDS),
            ind.word,
            suffix
        );
        let name = if names.contains(&name) {
            format!(
                "常州{}{}{}{}",
                rng.pick(BRANDS),
                rng.pick(PLACES),
                ind.word,
                suffix
            )
        } else {
            name
        };
        if !names.insert(name.clone()) {
            continue;
        }
        // 91: enterprise registered with market regulation; 92: individual business.
        let first17 = format!(
            "{}{AREA_CODE}{}",
            if individual { "92" } else { "91" },
            org_code(&mut rng)
        );
        let Ok(code) = CreditCode::complete(&first17) else {
            continue;
        };
        if !codes.insert(code.to_string()) {
            continue;
        }
        let v = *rng.weighted(&village_idx);
        let address = format!(
            "江苏省常州市新北区罗溪镇{}{}{}号",
            VILLAGE_NAMES[v],
            rng.pick(ROADS),
            1 + rng.below(388)
        );
        let scale = if !individual && rng.chance(0.22) {
            "above"
        } else {
            "below"
        };
        let tags: Vec<&'static str> = ind
            .tags
            .iter()
            .filter(|(t, _)| !COUNTED_TAGS.iter().any(|(c, _)| c == t))
            .filter(|(_, p)| rng.chance(*p))
            .map(|(t, _)| *t)
            .collect();
        let status = *rng.weighted(&[
            ("operating", 94),
            ("suspended", 3),
            ("closed", 2),
            ("relocated", 1),
        ]);
        let contact = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
        let prefix = *rng.pick(&[
            "139", "138", "137", "136", "135", "158", "159", "151", "152", "187", "188", "180",
            "189", "133", "177", "199",
        ]);
        let phone = format!("{prefix}{:08}", rng.below(100_000_000));
        // Around 常州奔牛国际机场, north-west of the city.
        let lat = 31.900 + rng.below(7000) as f64 / 100_000.0;
        let lon = 119.740 + rng.below(9000) as f64 / 100_000.0;
        rows.push(Row {
            line: format!(
                "{code},{name},{address},{},{},{scale},",
                VILLAGES[v].0, ind.code
            ),
            tail: format!(",{status},{contact},{phone},{lat:.5},{lon:.5}"),
            industry: ind,
            tags,
        });
    }
    for (tag, count) in COUNTED_TAGS {
        // Exactly `count` enterprises, drawn with the weight their industry
        // gives the tag (weighted sampling without replacement: the largest
        // u^(1/w) keys win).
        let mut keyed: Vec<(f64, usize)> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let w = r.industry.tags.iter().find(|(t, _)| t == tag)?.1;
                let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
                Some((u.powf(1.0 / w), i))
            })
            .collect();
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, i) in keyed.into_iter().take(*count) {
            rows[i].tags.push(tag);
        }
    }
    let mut out = String::from(
        "credit_code,name,address,village,industry_code,scale,risk_tags,status,contact_name,contact_phone,lat,lon\n",
    );
    for r in rows {
        let mut tags = r.tags;
        tags.sort_by_key(|t| anjian_domain::RiskTag::parse(t));
        let _ = writeln!(out, "{}{}{}", r.line, tags.join("|"), r.tail);
    }
    out
}

/// A roster row before its counted tags are drawn.
struct Row {
    /// The columns up to the tags, with the trailing comma.
    line: String,
    /// The columns after the tags, with the leading comma.
    tail: String,
    industry: &'static Industry,
    tags: Vec<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_roster_is_what_the_generator_makes() {
        let committed = include_str!("../../../seeds/enterprises.csv");
        assert!(
            committed == generate(),
            "seeds/enterprises.csv is stale: run `cargo run -- roster generate`"
        );
    }

    #[test]
    fn roster_is_complete_valid_and_unique() {
        let text = generate();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        assert!(header.starts_with("credit_code,"));
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        assert_eq!(rows.len(), ROSTER_SIZE);
        let codes: HashSet<&str> = rows.iter().map(|r| r[0]).collect();
        assert_eq!(codes.len(), ROSTER_SIZE);
        for r in &rows {
            assert_eq!(r.len(), 12, "{r:?}");
            assert!(CreditCode::parse(r[0]).is_ok(), "{}", r[0]);
            assert!(anjian_domain::enterprise::valid_phone(r[9]));
        }
        let with = |tag: &str| {
            rows.iter()
                .filter(|r| r[6].split('|').any(|t| t == tag))
                .count() as f64
                / ROSTER_SIZE as f64
        };
        // Plausible proportions for a town of light industry around an airport.
        // What the town's work summary counts.
        assert_eq!(
            (with("hazardous_waste") * ROSTER_SIZE as f64).round(),
            112.0
        );
        assert_eq!((with("fire_key_unit") * ROSTER_SIZE as f64).round(), 230.0);
        for r in &rows {
            assert!(r[0][2..8] == *AREA_CODE, "{}", r[0]);
            assert!(r[2].starts_with("江苏省常州市新北区罗溪镇"), "{}", r[2]);
        }
        assert!((0.05..0.25).contains(&with("dust")));
        assert!((0.05..0.25).contains(&with("hazardous_chemicals")));
        assert!((0.0..0.05).contains(&with("phosphorus")));
        assert!((0.10..0.40).contains(&with("gas")));
    }
}
