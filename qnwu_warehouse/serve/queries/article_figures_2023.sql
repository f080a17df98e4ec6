-- Số liệu của bài viết năm 2023 / The figures of the union's 2023 article, from the marts.
-- Each figure of ../shared/domain/source_article_vi.txt that unit reports can carry, with the
-- article's value and comparator ("trên 700" is > 700, "gần 9.000" is at most 9,000 and within
-- 3 % of it) next to the value computed from the published marts, and whether it meets it.
-- Figures units cannot report (contest selections and prizes, the 2021-2022 cumulative count)
-- are left out; the 2024 targets are in target_progress.sql.
-- Most figures are one row of the year roll-ups; the others read the club registers.
with article_text (figure_id, quote_vi, comparator, article_value, unit_of_measure) as (
    values
    ('news_items', 'có trên 700 tin, bài', '>', 700, 'items'),
    ('news_reports', '5 phóng sự tuyên truyền', '=', 5, 'items'),
    ('child_training_classes', 'tổ chức 102 lớp tập huấn', '=', 102, 'classes'),
    ('child_training_attendances', 'cho gần 9.000 lượt cán bộ, hội viên', '~<', 9000, 'person-times'),
    ('contest_entries', 'Toàn tỉnh có tổng số 496 sản phẩm dự thi', '=', 496, 'entries'),
    ('godmother_children_2023', 'đỡ đầu cho 211 trẻ mồ côi', '=', 211, 'children'),
    ('godmother_funds_vnd_2023', 'với số tiền vận động trên 1 tỷ đồng', '>', 1000000000, 'VND'),
    ('friendly_clubs', '4 CLB “Thân thiện” tại TP Hạ Long, Cẩm Phả và Uông Bí', '=', 4, 'clubs'),
    ('child_rights_clubs', '4 CLB “Quyền trẻ em” tại TP Cẩm Phả và TX Đông Triều', '=', 4, 'clubs'),
    (
        'knit_for_children_models_new', 'thành lập mới 1 mô hình "Đan áo cho em" tại phường Quang Trung, TP Uông Bí',
        '=', 1, 'models'
    ),
    ('knit_for_children_members', 'với sự tham gia của 14 thành viên', '=', 14, 'members'),
    ('early_childhood_models', '3 mô hình “Chăm sóc và giáo dục phát triển toàn diện trẻ thơ”', '=', 3, 'models'),
    ('change_leader_clubs_new', 'thành lập 10 mô hình CLB "Thủ lĩnh của sự thay đổi" tại 7 xã', '=', 10, 'clubs'),
    ('change_leader_club_members_min', 'mỗi câu lạc bộ có từ 15-30 thành viên', '>=', 15, 'members'),
    ('change_leader_club_members_max', 'mỗi câu lạc bộ có từ 15-30 thành viên', '<=', 30, 'members'),
    ('sport_movement_units', 'lan tỏa ở 177/177 cơ sở Hội', '=', 177, 'units'),
    ('sport_culture_clubs_new', 'đã ra mắt mới 68 CLB thể dục, thể thao, văn hóa văn nghệ', '=', 68, 'clubs'),
    ('air_volleyball_clubs', 'duy trì 513 CLB bóng chuyền hơi', '=', 513, 'clubs'),
    ('women_football_clubs', '40 CLB bóng đá nữ', '=', 40, 'clubs'),
    ('folk_dance_clubs', '854 CLB dân vũ', '=', 854, 'clubs'),
    ('women_household_support', 'toàn tỉnh có 2.997 phụ nữ được hỗ trợ', '=', 2997, 'women'),
    ('border_econ_models_funded', 'giải ngân 100 triệu đồng 10 mô hình kinh tế', '=', 10, 'models'),
    ('border_econ_funds_vnd', 'giải ngân 100 triệu đồng', '=', 100000000, 'VND'),
    ('livestock_models', 'hỗ trợ 9 mô hình nuôi gà, lợn, ngan cho 9 hội viên', '=', 9, 'models'),
    ('livestock_model_members', 'cho 9 hội viên phụ nữ tại huyện Bình Liêu', '=', 9, 'members'),
    ('waste_models', 'với 1.992 mô hình', '=', 1992, 'models'),
    ('waste_model_members', '(hơn 200.000 thành viên)', '>', 200000, 'members'),
    ('waste_model_units', '149/177 (84,1%) cơ sở duy trì thực hiện', '=', 149, 'units'),
    ('waste_model_units_pct', '149/177 (84,1%)', '=', 84.1, 'percent'),
    ('waste_to_money_models_new', 'phát triển mới 224 mô hình "Biến rác thành tiền"', '=', 224, 'models'),
    ('waste_to_money_funds_vnd', 'bán phế liệu được trên 1,1 tỷ đồng', '>', 1100000000, 'VND')
),

article as (
    -- numbered in the order the article gives them (a VALUES list is read in its written order)
    select *, row_number() over () as article_order from article_text
),

-- Where each roll-up figure comes from: the province, or the named districts added up.
from_indicator_totals (figure_id, indicator_code, district_names) as (
    values
    ('news_items', 'news_items', null),
    ('news_reports', 'news_reportages', null),
    ('child_training_classes', 'child_training_classes', null),
    ('child_training_attendances', 'child_training_attendances', null),
    ('contest_entries', 'gender_contest_entries', null),
    ('godmother_children_2023', 'godmother_children_new', null),
    ('godmother_funds_vnd_2023', 'godmother_funds_vnd', null),
    ('women_household_support', 'household_economy_women_supported', null),
    ('waste_to_money_funds_vnd', 'waste_to_money_funds_vnd', null),
    ('border_econ_funds_vnd', 'border_econ_funds_vnd', ['Huyện Bình Liêu', 'Huyện Hải Hà'])
),

from_club_totals (figure_id, club_category_level, club_category_code, measure, district_names) as (
    values
    ('friendly_clubs', 'type', 'friendly_club', 'open', null),
    ('child_rights_clubs', 'type', 'child_rights_club', 'open', null),
    ('early_childhood_models', 'type', 'early_childhood_model', 'open', null),
    ('change_leader_clubs_new', 'type', 'change_leader_club', 'new', null),
    ('sport_movement_units', 'group', 'sport_culture', 'units', null),
    ('sport_culture_clubs_new', 'group', 'sport_culture', 'new', null),
    ('air_volleyball_clubs', 'type', 'air_volleyball', 'open', null),
    ('women_football_clubs', 'type', 'women_football', 'open', null),
    ('folk_dance_clubs', 'type', 'folk_dance', 'open', null),
    ('border_econ_models_funded', 'type', 'border_econ_model', 'open', ['Huyện Bình Liêu', 'Huyện Hải Hà']),
    ('livestock_models', 'type', 'livestock_model', 'open', ['Huyện Bình Liêu']),
    ('livestock_model_members', 'type', 'livestock_model', 'members', ['Huyện Bình Liêu']),
    ('waste_models', 'group', 'environment', 'open', null),
    ('waste_model_members', 'group', 'environment', 'members', null),
    ('waste_model_units', 'group', 'environment', 'units', null),
    ('waste_to_money_models_new', 'type', 'waste_to_money_model', 'new', null)
),

districts_2023 as (
    select unit_code, unit_name from marts.dim_units
    where unit_level = 'district' and valid_from <= date '2023-12-01'
        and (valid_to is null or valid_to > date '2023-12-01')
),

indicator_figures as (
    select wanted.figure_id, cast(sum(totals.value) as double) as computed_value
    from from_indicator_totals as wanted
    inner join marts.agg_indicators_by_period as totals
        on totals.indicator_code = wanted.indicator_code
        and totals.period_grain = 'year' and totals.period_label = '2023'
    left join districts_2023 on districts_2023.unit_code = totals.scope_code
    where (wanted.district_names is null and totals.scope_level = 'province')
        or (totals.scope_level = 'district' and list_contains(wanted.district_names, districts_2023.unit_name))
    group by wanted.figure_id
),

club_figures as (
    select
        wanted.figure_id,
        cast(sum(case wanted.measure
            when 'open' then totals.clubs_open_at_period_end
            when 'new' then totals.clubs_new_in_period
            when 'members' then totals.members_at_period_end
            when 'units' then totals.units_with_open_clubs
        end) as double) as computed_value
    from from_club_totals as wanted
    inner join marts.agg_clubs_by_period as totals
        on totals.club_category_level = wanted.club_category_level
        and totals.club_category_code = wanted.club_category_code
        and totals.period_grain = 'year' and totals.period_label = '2023'
    left join districts_2023 on districts_2023.unit_code = totals.scope_code
    where (wanted.district_names is null and totals.scope_level = 'province')
        or (totals.scope_level = 'district' and list_contains(wanted.district_names, districts_2023.unit_name))
    group by wanted.figure_id
),

-- The article writes 149/177 as 84,1 %: it cuts the second decimal off rather than rounding.
share_figures as (
    select 'waste_model_units_pct' as figure_id, floor(10 * units_with_open_clubs_pct) / 10 as computed_value
    from marts.agg_clubs_by_period
    where period_grain = 'year' and period_label = '2023' and scope_level = 'province'
        and club_category_level = 'group' and club_category_code = 'environment'
),

-- One commune's model and the size of each leaders-of-change club: the club registers themselves.
quang_trung as (
    select units.unit_code from marts.dim_units as units
    where units.unit_level = 'grassroots' and units.unit_name = 'Phường Quang Trung'
        and units.district_name = 'Thành phố Uông Bí' and units.valid_from <= date '2023-12-01'
        and (units.valid_to is null or units.valid_to > date '2023-12-01')
),

register_figures as (
    select 'knit_for_children_models_new' as figure_id, cast(count(distinct club_id) as double) as computed_value
    from marts.fct_club_snapshots
    where unit_code in (select unit_code from quang_trung) and period like '2023-%'
        and club_type_code = 'knit_for_children' and is_new
    union all
    select 'knit_for_children_members', cast(sum(members) as double)
    from marts.fct_club_snapshots
    where unit_code in (select unit_code from quang_trung) and period = '2023-12'
        and club_type_code = 'knit_for_children' and is_open_at_period_end
    union all
    select 'change_leader_club_members_min', cast(min(members) as double)
    from marts.fct_club_snapshots
    where period = '2023-12' and club_type_code = 'change_leader_club' and is_open_at_period_end
    union all
    select 'change_leader_club_members_max', cast(max(members) as double)
    from marts.fct_club_snapshots
    where period = '2023-12' and club_type_code = 'change_leader_club' and is_open_at_period_end
),

computed as (
    select * from indicator_figures
    union all
    select * from club_figures
    union all
    select * from share_figures
    union all
    select * from register_figures
)

select
    article.article_order,
    article.figure_id,
    article.quote_vi,
    article.comparator,
    cast(article.article_value as double) as article_value,
    computed.computed_value,
    article.unit_of_measure,
    case article.comparator
        when '=' then computed.computed_value = article.article_value
        when '>' then computed.computed_value > article.article_value
        when '>=' then computed.computed_value >= article.article_value
        when '<=' then computed.computed_value <= article.article_value
        when '~<' then computed.computed_value between 0.97 * article.article_value and article.article_value
    end as meets_article
from article
left join computed using (figure_id)
order by article.article_order;
