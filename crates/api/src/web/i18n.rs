//! The words of the pages, zh-CN first, English on the switch.

use crate::context::Lang;

/// (key, zh-CN, English).
const TEXT: &[(&str, &str, &str)] = &[
    ("nav_reports", "周报", "Weekly reports"),
    (
        "reports_hint",
        "每周一 08:00 自动生成上周周报，数据以截止时间（周一 08:00）前收到的记录为准。",
        "Every Monday at 08:00 last week's report is made, from what had arrived by then.",
    ),
    ("reports_none", "尚无周报", "No report yet"),
    ("report_week", "周次", "Week"),
    ("report_period", "统计周期", "Period"),
    ("report_found", "本周发现", "Found"),
    ("report_closed", "本周销号", "Closed"),
    ("report_overdue", "逾期", "Overdue"),
    (
        "report_rectified",
        "整改完成/问题企业",
        "Rectified / problem enterprises",
    ),
    ("report_rate", "企业整改完成率", "Completion"),
    ("report_generated", "生成时间", "Made"),
    ("report_files", "文件", "Files"),
    ("report_provisional", "临时", "provisional"),
    ("hazard_status", "状态", "Status"),
    ("nav_enterprises", "企业档案", "Enterprises"),
    ("search", "搜索", "Search"),
    (
        "search_hint",
        "企业名称、统一社会信用代码、地址或联系人",
        "Name, credit code, address or contact",
    ),
    ("all_villages", "全部村（社区）", "All villages"),
    ("found_n", "找到 {n} 家企业", "{n} enterprises found"),
    (
        "first_n",
        "仅显示前 {n} 家，请输入更多字词缩小范围。",
        "Only the first {n} are shown; type more to narrow the search.",
    ),
    ("credit_code", "统一社会信用代码", "Credit code"),
    ("address", "地址", "Address"),
    ("industry", "行业代码", "Industry code"),
    ("scale", "规模", "Scale"),
    ("scale_above", "规上企业", "Above designated size"),
    ("scale_below", "规下企业", "Below designated size"),
    ("risk_tags", "风险标签", "Risk tags"),
    ("contact", "联系人", "Contact"),
    ("ent_status", "经营状态", "Status"),
    ("ent_operating", "在营", "Operating"),
    ("ent_suspended", "停产", "Suspended"),
    ("ent_closed", "关停", "Closed"),
    ("ent_relocated", "搬迁", "Relocated"),
    ("inspections", "检查记录", "Inspections"),
    ("hazards", "隐患", "Hazards"),
    ("photos", "照片", "Photos"),
    ("checklist", "检查表", "Checklist"),
    ("inspector", "检查人员", "Inspector"),
    ("finished_at", "完成时间", "Finished"),
    ("in_progress", "检查中", "In progress"),
    (
        "result_counts",
        "合格 {pass} · 不合格 {fail} · 不适用 {na}",
        "pass {pass} · fail {fail} · n/a {na}",
    ),
    ("open_hazards", "未销号隐患", "Open hazards"),
    (
        "to_review_queue",
        "整改已提交，到“待复查”处理。",
        "A rectification is waiting: decide it in Reviews.",
    ),
    (
        "search_first",
        "输入企业名称或信用代码查找企业，查看其检查记录、隐患和照片。",
        "Search for an enterprise by name or credit code to see its inspections, hazards and photos.",
    ),
    ("office", "安监办工作台", "Office dashboard"),
    (
        "office_only",
        "工作台仅供安监办和管理员使用。",
        "The dashboard is for the office and administrators.",
    ),
    (
        "landing_office",
        "安监办：今日数据、各村进度、复查销号、逾期挂牌督办、延期审批。",
        "The office: today's figures, progress by village, reviews, overdue hazards, extension requests.",
    ),
    ("nav_overview", "概览", "Overview"),
    ("nav_reviews", "待复查", "Reviews"),
    ("nav_overdue", "逾期隐患", "Overdue"),
    ("nav_extensions", "延期申请", "Extensions"),
    (
        "today_figures",
        "今日数据（{date}）",
        "Today's figures ({date})",
    ),
    ("fig_open", "待整改", "Open"),
    ("fig_submitted", "待复查", "Awaiting review"),
    ("fig_overdue", "逾期未整改", "Overdue"),
    ("fig_major_open", "重大隐患未销号", "Major hazards open"),
    ("fig_found_ytd", "本年发现隐患", "Found this year"),
    ("fig_closed_ytd", "本年已销号", "Closed this year"),
    ("fig_on_time", "按期整改销号", "Rectified on time"),
    (
        "fig_problem",
        "本年问题企业",
        "Problem enterprises this year",
    ),
    (
        "fig_rectified",
        "已整改到位企业",
        "Enterprises fully rectified",
    ),
    ("fig_hazard_rate", "隐患整改率", "Hazard completion"),
    ("fig_enterprise_rate", "企业整改率", "Enterprise completion"),
    ("by_village", "各村（社区）进度", "By village"),
    ("village", "村（社区）", "Village"),
    ("total", "合计", "Total"),
    (
        "weeks_chart",
        "近12周发现与销号",
        "Found and closed, last 12 weeks",
    ),
    ("found", "发现", "Found"),
    ("closed", "销号", "Closed"),
    ("enterprise", "企业", "Enterprise"),
    ("rectification", "整改情况", "Rectification"),
    ("accept", "通过，销号", "Accept and close"),
    ("reject", "不通过，退回", "Reject"),
    ("comment", "复查意见", "Comment"),
    ("reviewed", "复查结果已保存", "Review saved"),
    ("decided", "延期申请已处理", "Extension request decided"),
    ("days_overdue_col", "逾期天数", "Days overdue"),
    (
        "escalate_hint",
        "逾期隐患为挂牌督办候选，点击表头按逾期天数排序。",
        "Overdue hazards are candidates for supervised listing (挂牌督办); sort by days overdue with the column heading.",
    ),
    ("approve", "同意延期", "Approve"),
    ("deny", "不同意", "Deny"),
    ("current_deadline", "当前期限", "Current deadline"),
    (
        "app_name",
        "罗溪镇安全生产隐患排查治理",
        "Luoxi Town work-safety hazard campaign",
    ),
    ("portal", "企业端", "Enterprise portal"),
    ("docs", "接口文档", "API reference"),
    (
        "landing_intro",
        "常州市新北区罗溪镇“危污乱散低”安全生产专项整治：网格员现场检查登记隐患，企业在线提交整改，安监办复查销号。",
        "The safety campaign of Luoxi Town, Xinbei District, Changzhou: inspectors record hazards on site, enterprises submit their rectifications online, the office reviews and closes them.",
    ),
    (
        "landing_portal",
        "企业安全员：查看本企业隐患、上传整改照片、申请延期、填写重大隐患治理方案。",
        "Enterprise safety officers: see your hazards, upload rectification photos, ask for more time, write a major hazard's plan.",
    ),
    (
        "landing_docs",
        "开发者与第三方系统：HTTP 接口说明（OpenAPI）。",
        "Developers and other systems: the HTTP API (OpenAPI).",
    ),
    (
        "landing_app",
        "网格员请使用手机端离线检查。",
        "Inspectors use the offline phone app.",
    ),
    ("language", "English", "中文"),
    ("login", "登录", "Sign in"),
    ("logout", "退出", "Sign out"),
    (
        "username",
        "用户名或统一社会信用代码",
        "Username or unified social credit code",
    ),
    ("password", "密码", "Password"),
    (
        "login_failed",
        "用户名或密码错误",
        "Wrong username or password",
    ),
    (
        "rate_limited",
        "尝试次数过多，请稍后再试",
        "Too many attempts; try again later",
    ),
    (
        "session_expired",
        "登录已失效，请重新登录",
        "Your session has ended; please sign in again",
    ),
    (
        "csrf_failed",
        "页面已过期，请刷新后重新提交",
        "This page has expired; reload it and submit again",
    ),
    ("change_password", "修改密码", "Change password"),
    (
        "must_change",
        "首次登录请先修改初始密码",
        "Please change your initial password first",
    ),
    ("current_password", "当前密码", "Current password"),
    ("new_password", "新密码", "New password"),
    ("confirm_password", "再次输入新密码", "New password again"),
    (
        "password_rules",
        "至少10个字符，不能是同一字符重复、顺序字符或常见密码。",
        "At least 10 characters; not one repeated character, a plain sequence or a common password.",
    ),
    (
        "password_mismatch",
        "两次输入的新密码不一致",
        "The two new passwords differ",
    ),
    (
        "password_changed",
        "密码已修改",
        "Your password was changed",
    ),
    ("save", "保存", "Save"),
    ("my_hazards", "本企业隐患", "Our hazards"),
    ("tab_open", "待整改", "To rectify"),
    ("tab_submitted", "待复查", "Under review"),
    ("tab_closed", "已销号", "Closed"),
    ("tab_all", "全部", "All"),
    ("none", "暂无记录", "Nothing here"),
    ("status_open", "待整改", "Open"),
    ("status_submitted", "待复查", "Submitted"),
    ("status_closed", "已销号", "Closed"),
    ("status_cancelled", "已撤销", "Cancelled"),
    ("major", "重大隐患", "Major hazard"),
    ("general", "一般隐患", "General hazard"),
    ("overdue", "已逾期", "Overdue"),
    ("days_left", "剩余 {n} 天", "{n} days left"),
    ("due_today", "今日到期", "Due today"),
    ("days_overdue", "逾期 {n} 天", "{n} days overdue"),
    ("found_at", "发现时间", "Found"),
    ("deadline", "整改期限", "Deadline"),
    ("category", "类别", "Category"),
    ("description", "隐患描述", "Description"),
    ("legal_basis", "依据", "Legal basis"),
    ("measures", "整改措施", "Measures"),
    ("responsible_person", "责任人", "Responsible person"),
    ("inspector_photos", "检查照片", "Inspection photos"),
    ("processing", "照片处理中", "Photo being processed"),
    ("history", "处理记录", "History"),
    ("rectify", "提交整改", "Submit the rectification"),
    (
        "rectify_help",
        "说明整改做了什么，并上传整改后的照片（至少一张，JPEG/PNG/WebP，每张不超过25MB）。",
        "Say what was done and upload photos of the result (at least one; JPEG, PNG or WebP, up to 25 MB each).",
    ),
    ("after_photos", "整改后照片", "After-photos"),
    (
        "photos_kept",
        "已上传的照片已保留，无需重新上传：",
        "Photos already uploaded are kept; no need to upload them again:",
    ),
    ("submit", "提交", "Submit"),
    (
        "submitted_ok",
        "整改已提交，等待复查",
        "Rectification submitted; waiting for review",
    ),
    ("extension", "申请延期", "Ask for more time"),
    ("requested_deadline", "申请延期至", "New deadline asked for"),
    ("reason", "理由", "Reason"),
    (
        "extension_pending",
        "延期申请待审批：申请延至 {date}",
        "Extension pending: asked until {date}",
    ),
    (
        "extension_sent",
        "延期申请已提交，等待安监办审批",
        "Extension requested; waiting for the office",
    ),
    ("plan", "重大隐患治理方案", "Governance plan (major hazard)"),
    (
        "plan_help",
        "重大隐患须六项内容齐全，安监办方可销号。",
        "A major hazard is closed only when all six parts are written.",
    ),
    ("plan_objectives", "治理目标和任务", "Objectives and tasks"),
    ("plan_measures", "方法和措施", "Methods and measures"),
    ("plan_funding", "经费和物资", "Funding and materials"),
    ("plan_organisation", "机构和人员", "Organisation and people"),
    ("plan_timeline", "时限和要求", "Timeline and requirements"),
    (
        "plan_safety_measures",
        "安全措施和应急预案",
        "Safety measures and emergency plan",
    ),
    ("plan_saved", "治理方案已保存", "Plan saved"),
    (
        "plan_incomplete",
        "方案尚不完整",
        "The plan is not complete yet",
    ),
    (
        "plan_complete",
        "方案六项已齐全",
        "All six parts are written",
    ),
    ("act_create", "登记隐患", "Hazard recorded"),
    ("act_update", "修改隐患", "Hazard edited"),
    ("act_rectification", "提交整改", "Rectification submitted"),
    (
        "act_review.accept",
        "复查通过，销号",
        "Review passed; closed",
    ),
    (
        "act_review.reject",
        "复查未通过，退回整改",
        "Review failed; back to rectify",
    ),
    ("act_cancel", "撤销", "Cancelled"),
    ("act_plan", "填写治理方案", "Plan written"),
    ("act_extension.request", "申请延期", "Extension asked for"),
    ("act_extension.approve", "同意延期", "Extension approved"),
    ("act_extension.deny", "不同意延期", "Extension denied"),
    ("back", "返回列表", "Back to the list"),
    (
        "not_found",
        "记录不存在，或不属于本企业",
        "No such record, or not your enterprise's",
    ),
    ("error", "出错了", "Something went wrong"),
    (
        "internal_error",
        "服务器出错，请稍后重试（编号 {id}）",
        "Server error; please try again later (ref. {id})",
    ),
    (
        "portal_only",
        "企业端仅供企业账号使用；网格员请使用手机端，安监办请使用工作台。",
        "The portal is for enterprise accounts; inspectors use the phone app and the office its dashboard.",
    ),
    (
        "fix_fields",
        "请修改标注的内容后重新提交：",
        "Please correct the following and submit again:",
    ),
];

/// The words of `lang`, as a map for the templates (`tr.key`).
pub fn words(lang: Lang) -> std::collections::BTreeMap<&'static str, &'static str> {
    TEXT.iter()
        .map(|(k, zh, en)| (*k, if lang == Lang::En { *en } else { *zh }))
        .collect()
}

/// One word.
pub fn word(lang: Lang, key: &str) -> &'static str {
    TEXT.iter()
        .find(|(k, _, _)| *k == key)
        .map_or("", |(_, zh, en)| if lang == Lang::En { en } else { zh })
}

/// What a field error's reason means, for the forms' messages.
pub fn reason(lang: Lang, field: &str, reason: &str) -> String {
    let zh = lang != Lang::En;
    let what = match field {
        "description" => word(lang, "description"),
        "photo_ids" | "photos" => word(lang, "after_photos"),
        "reason" => word(lang, "reason"),
        "requested_deadline" => word(lang, "requested_deadline"),
        "current_password" => word(lang, "current_password"),
        "new_password" => word(lang, "new_password"),
        f if f.starts_with("plan.") => word(lang, &format!("plan_{}", &f[5..])),
        f => f,
    };
    let why = match (reason, zh) {
        ("required", true) => "必填",
        ("required", false) => "is required",
        ("not_found", true) => "照片不存在或无权使用",
        ("not_found", false) => "names a photo that doesn't exist or isn't yours",
        ("not_uploaded", true) => "照片尚未上传完成",
        ("not_uploaded", false) => "names a photo not uploaded yet",
        ("not_after_deadline", true) => "须晚于当前整改期限",
        ("not_after_deadline", false) => "must be after the current deadline",
        ("incorrect", true) => "不正确",
        ("incorrect", false) => "is incorrect",
        ("unchanged", true) => "不能与当前密码相同",
        ("unchanged", false) => "must differ from the current one",
        ("too_long", true) => "内容过长",
        ("too_long", false) => "is too long",
        ("not_an_image", true) => "不是可识别的图片（JPEG/PNG/WebP）",
        ("not_an_image", false) => "is not a JPEG, PNG or WebP image",
        ("image_too_large", true) => "图片过大（最大25MB、5000万像素）",
        ("image_too_large", false) => "is too large (25 MB, 50 megapixels at most)",
        (_, true) => "格式不正确",
        (_, false) => "is not valid",
    };
    if zh {
        format!("{what}：{why}")
    } else {
        format!("{what} {why}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_is_there_once_in_both_languages() {
        let mut keys = std::collections::HashSet::new();
        for (k, zh, en) in super::TEXT {
            assert!(keys.insert(*k), "{k} twice");
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
        }
    }

    #[test]
    fn every_word_a_template_names_exists() {
        let keys: std::collections::HashSet<&str> = super::TEXT.iter().map(|t| t.0).collect();
        for (name, text) in crate::web::TEMPLATES {
            let mut rest: &str = text;
            while let Some(at) = rest.find("tr.") {
                rest = &rest[at + 3..];
                let word: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                assert!(keys.contains(word.as_str()), "{name}: tr.{word}");
            }
        }
    }
}
